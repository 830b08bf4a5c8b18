// build.mjs - builds the web consoles from src/ into dist/ (or the folder
// given as the first argument).
//
// Each console (operator, driver, map) is one ES module bundled by esbuild
// with everything it imports, minified, for browsers of the last few years.
// The driver channel's schema (data/proto/driver.proto) is read here, at
// build time, with the full protobufjs and embedded in the tablet's bundle
// as a JSON descriptor (the virtual module "driver-proto"); the page itself
// uses protobufjs/light to encode and decode, so it never fetches a schema.
// HTML and CSS are copied as they are.  Nothing here touches the network.
import { build } from 'esbuild';
import { copyFile, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, 'src');
const out = resolve(process.argv[2] || join(here, 'dist'));
const protoFile = resolve(here, '../../data/proto/driver.proto');
const consoles = ['operator', 'driver', 'map'];

// The schema as a JSON descriptor, for protobufjs/light's Root.fromJSON.
const driverProto = {
    name: 'driver-proto',
    setup(b) {
        b.onResolve({ filter: /^driver-proto$/ }, () => ({ path: protoFile, namespace: 'proto' }));
        b.onLoad({ filter: /.*/, namespace: 'proto' }, (args) => {
            const root = protobuf.loadSync(args.path);
            return { contents: JSON.stringify(root.toJSON()), loader: 'json', watchFiles: [args.path] };
        });
    },
};

async function copyStatic(dir) {
    for (const ent of await readdir(dir, { withFileTypes: true })) {
        const p = join(dir, ent.name);
        if (ent.isDirectory()) {
            await copyStatic(p);
        } else if (/\.(html|css|svg|ico|png)$/.test(ent.name)) {
            const dst = join(out, relative(src, p));
            await mkdir(dirname(dst), { recursive: true });
            await copyFile(p, dst);
        }
    }
}

async function main() {
    await rm(out, { recursive: true, force: true });
    await mkdir(out, { recursive: true });
    const result = await build({
        entryPoints: Object.fromEntries(consoles.map((c) => [`${c}/app`, join(src, c, 'app.js')])),
        outdir: out,
        bundle: true,
        format: 'esm',
        minify: true,
        sourcemap: 'linked',
        target: ['chrome100', 'firefox100', 'safari15'],
        plugins: [driverProto],
        metafile: true,
        logLevel: 'warning',
        legalComments: 'linked',
    });
    await copyStatic(src);
    for (const [file, info] of Object.entries(result.metafile.outputs)) {
        if (file.endsWith('.js')) {
            console.log(`web-build: ${relative(process.cwd(), file)} ${(info.bytes / 1024).toFixed(1)} KiB`);
        }
    }
    await stat(join(out, 'index.html'));
}

main().catch((e) => {
    console.error(`web-build: ${e.message || e}`);
    process.exit(1);
});
