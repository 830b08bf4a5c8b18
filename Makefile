# noriai - the one entry point: make, make test, make run, make bench.
#
# Every goal that builds or runs first makes sure the Debian packages the
# project needs are present (`make deps`, which installs only what is missing).

CC      ?= gcc
BUILD   ?= build
SANDIR  ?= build-san
OPT     ?= -O2
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror
CFLAGS_ALL = -std=c11 -D_POSIX_C_SOURCE=200809L $(OPT) -g $(WARN) -I. -I$(GEN) $(CFLAGS)
LIBS    := -lglpk -ljansson -lprotobuf-c -lproj -luv -lpq -lhttp_parser -lwslay -lcrypto -lz -lm -lpthread
TESTLIBS := -lcmocka
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# Generated C (protoc-c from data/proto/*.proto) lives in $(GEN), shared by
# the plain and sanitizer builds; it is built, never edited.
GEN        := $(BUILD)/gen
PROTO_SRC  := $(sort $(wildcard data/proto/*.proto))
GEN_C      := $(PROTO_SRC:%.proto=$(GEN)/%.pb-c.c)
GEN_H      := $(GEN_C:.c=.h)
# Generated files are kept between builds (not make's intermediates).
.SECONDARY: $(GEN_C) $(GEN_H)
# The SQL migrations are compiled into the binary (scripts/embed.c).
SQL_SRC    := $(sort $(wildcard data/sql/*.sql))
SQL_C      := $(GEN)/sql_migrations.c
# ... and so is the OpenAPI document the daemon serves.
DOC_C      := $(GEN)/api_doc.c

SOLVER_SRC := $(sort $(wildcard solver/*.c solver/ops/*.c))
DATA_SRC   := $(sort $(wildcard data/*/*.c))
DSP_SRC    := $(sort $(wildcard dispatcher/*.c))
SIM_SRC    := $(sort $(wildcard simulator/*.c))
API_SRC    := $(sort $(wildcard api/http/*.c api/server/*.c))
CLI_SRC    := $(sort $(wildcard api/cli/*.c))
LIB_SRC    := $(SOLVER_SRC) $(DATA_SRC) $(DSP_SRC) $(SIM_SRC) $(API_SRC)
TEST_DIRS  := solver data dispatcher simulator api cli
TEST_SRC   := $(sort $(foreach d,$(TEST_DIRS),$(wildcard tests/$(d)/test_*.c)))
SAN_TEST_SRC := $(sort $(wildcard tests/solver/test_*.c tests/data/test_*.c tests/dispatcher/test_*.c tests/simulator/test_*.c tests/api/test_http*.c tests/api/test_web.c tests/api/test_api.c tests/api/test_driver.c tests/api/test_tablets.c tests/api/test_attacks.c tests/api/test_store_pg.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(GEN_C:$(GEN)/%.c=$(BUILD)/obj/gen/%.o) $(BUILD)/obj/gen/sql_migrations.o $(BUILD)/obj/gen/api_doc.o
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
SAN_LIB_OBJ := $(LIB_SRC:%.c=$(SANDIR)/obj/%.o) $(GEN_C:$(GEN)/%.c=$(SANDIR)/obj/gen/%.o) $(SANDIR)/obj/gen/sql_migrations.o $(SANDIR)/obj/gen/api_doc.o
SAN_TEST_BIN := $(SAN_TEST_SRC:tests/%.c=$(SANDIR)/tests/%)

.PHONY: all deps web test test-unit test-san run simulate bench clean format
all: deps
	@$(MAKE) --no-print-directory $(BUILD)/noriai web

deps:
	@scripts/deps.sh
	@scripts/web-build.sh --deps

# The web consoles (api/web/src -> api/web/dist, esbuild from npm).
web:
	@scripts/web-build.sh

$(BUILD)/noriai: $(CLI_OBJ) $(BUILD)/libnoriai.a
	$(CC) $(CFLAGS_ALL) -o $@ $(CLI_OBJ) $(BUILD)/libnoriai.a $(LIBS)

$(BUILD)/libnoriai.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(GEN)/%.pb-c.c $(GEN)/%.pb-c.h: %.proto
	@mkdir -p $(GEN)
	protoc-c --proto_path=. --c_out=$(GEN) $<

$(BUILD)/tools/embed: scripts/embed.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -o $@ $<

$(SQL_C): $(SQL_SRC) $(BUILD)/tools/embed
	@mkdir -p $(GEN)
	$(BUILD)/tools/embed $@ db_sql $(SQL_SRC)

$(DOC_C): api/openapi.json $(BUILD)/tools/embed
	@mkdir -p $(GEN)
	$(BUILD)/tools/embed $@ api_doc api/openapi.json

$(BUILD)/obj/gen/%.o: $(GEN)/%.c $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Wno-missing-prototypes -Wno-missing-braces -c $< -o $@

$(BUILD)/obj/%.o: %.c | $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(BUILD)/tests/%: tests/%.c $(wildcard tests/*.h) $(BUILD)/libnoriai.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests -o $@ $< $(BUILD)/libnoriai.a $(TESTLIBS) $(LIBS)

# The daemon and CLI under ASan+UBSan: the integration tests run against it
# in the sanitizer pass.
$(SANDIR)/noriai: $(CLI_SRC:%.c=$(SANDIR)/obj/%.o) $(SANDIR)/libnoriai.a
	$(CC) $(CFLAGS_ALL) -O1 $(SANFLAGS) -o $@ $(CLI_SRC:%.c=$(SANDIR)/obj/%.o) $(SANDIR)/libnoriai.a $(LIBS)

$(SANDIR)/libnoriai.a: $(SAN_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(SANDIR)/obj/gen/%.o: $(GEN)/%.c $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -O1 $(SANFLAGS) -Wno-missing-prototypes -Wno-missing-braces -c $< -o $@

$(SANDIR)/obj/%.o: %.c | $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -O1 $(SANFLAGS) -MMD -MP -c $< -o $@

$(SANDIR)/tests/%: tests/%.c $(wildcard tests/*.h) $(SANDIR)/libnoriai.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -O1 $(SANFLAGS) -Itests -o $@ $< $(SANDIR)/libnoriai.a $(TESTLIBS) $(LIBS)

# Every test program, then the solver's again under ASan+UBSan; one summary.
test: deps
	@$(MAKE) --no-print-directory $(BUILD)/noriai $(SANDIR)/noriai $(TEST_BIN) $(SAN_TEST_BIN)
	@scripts/run-tests.sh $(BUILD) $(SANDIR) $(TEST_BIN) scripts/e2e.sh -- $(SAN_TEST_BIN)

run: all
	@scripts/run-demo.sh $(BUILD)

# The planners' demo: a whole simulated day in the demo town, with a report.
simulate: all
	@echo "== noriai simulate examples/scenarios/demo-town.json: a service day in a synthetic town =="
	$(BUILD)/noriai simulate examples/scenarios/demo-town.json --out out/demo-town
	@echo "== open out/demo-town/report.html (or fleet-*/report.html for the sweep) =="

# BENCH=full adds li_lim_200; BENCH_TIME sets seconds per instance.
bench: all
	@scripts/bench.sh

clean:
	rm -rf $(BUILD) $(SANDIR)

format:
	clang-format -i $(LIB_SRC) $(CLI_SRC) solver/*.h data/*/*.h dispatcher/*.h simulator/*.h api/cli/*.h

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(SAN_LIB_OBJ:.o=.d)

# H1: bench-osm
# Time and peak memory (/usr/bin/time) to read each shared OSM extract and
# build its road graph, one process per file ($NORIAI_SHARED or ../shared).
.PHONY: bench-osm
bench-osm: $(BUILD)/bench/bench_osm
	@for f in $${NORIAI_SHARED:-../shared}/data/osm/*.osm.pbf; do \
	    /usr/bin/time -f "$$f: %e s wall, %U s user, %M KB peak RSS" $(BUILD)/bench/bench_osm $$f || exit 1; \
	done

$(BUILD)/bench/bench_osm: tests/bench/bench_osm.c $(BUILD)/libnoriai.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(BUILD)/libnoriai.a $(LIBS)

# H3: bench-area
# Area builds of every shared OSM extract (wall time, peak memory), the
# Liechtenstein bus-stop matrix and a 1,000 x 1,000 Monaco matrix on 2 threads.
.PHONY: bench-area
bench-area: all
	@scripts/bench-area.sh $(BUILD)

# The reservation API under load: PostgreSQL + daemon (100 vans, 2,000
# open bookings) + loadgen at RATES pairs/s (scripts/bench-api.sh).
.PHONY: bench-api
bench-api: all
	@BUILD=$(BUILD) SANDIR=$(SANDIR) scripts/bench-api.sh
