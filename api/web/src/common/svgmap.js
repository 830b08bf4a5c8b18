// svgmap.js - the service area drawn in SVG from its own stops, with no
// map tiles: the operator picks stops on it, the live map draws vehicles
// and routes over it.
//
// Projection: equirectangular around the stops' mean latitude, in metres
// (x east, y south), which is exact enough for a town of a few tens of
// kilometres.  The viewBox is the stops' bounding box plus a margin, so
// the SVG scales with its box; sizes of marks are a fraction of the
// extent and line widths do not scale (vector-effect), so the drawing
// reads the same at any size.

const NS = 'http://www.w3.org/2000/svg';

export function svgEl(tag, attrs, ...children) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
        if (v !== undefined && v !== null) {
            e.setAttribute(k, String(v));
        }
    }
    for (const c of children) {
        e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
}

export class AreaMap {
    // svg: an <svg> element (emptied); stops: [{id, name, name_en, lat, lon, kind}]
    constructor(svg, stops) {
        this.svg = svg;
        this.stops = stops;
        this.byId = new Map(stops.map((s) => [s.id, s]));
        const lats = stops.map((s) => s.lat);
        const lons = stops.map((s) => s.lon);
        this.lat0 = lats.length ? lats.reduce((a, b) => a + b, 0) / lats.length : 0;
        this.lon0 = lons.length ? lons.reduce((a, b) => a + b, 0) / lons.length : 0;
        this.kx = Math.cos((this.lat0 * Math.PI) / 180) * 111320;
        this.ky = 110540;
        const pts = stops.map((s) => this.project(s.lat, s.lon));
        let [x0, y0, x1, y1] = [-500, -500, 500, 500];
        if (pts.length) {
            x0 = Math.min(...pts.map((p) => p[0]));
            x1 = Math.max(...pts.map((p) => p[0]));
            y0 = Math.min(...pts.map((p) => p[1]));
            y1 = Math.max(...pts.map((p) => p[1]));
        }
        const extent = Math.max(x1 - x0, y1 - y0, 500);
        const pad = extent * 0.04;
        this.extent = extent;
        this.r = extent / 160;
        svg.replaceChildren();
        svg.setAttribute('viewBox', `${x0 - pad} ${y0 - pad} ${x1 - x0 + 2 * pad} ${y1 - y0 + 2 * pad}`);
        svg.setAttribute('preserveAspectRatio', 'xMidYMid meet');
        svg.classList.add('areamap');
        this.gRoutes = svg.appendChild(svgEl('g', { class: 'routes' }));
        this.gStops = svg.appendChild(svgEl('g', { class: 'stops' }));
        this.gMarks = svg.appendChild(svgEl('g', { class: 'marks' }));
        this.gVehicles = svg.appendChild(svgEl('g', { class: 'vehicles' }));
        this.gLabels = svg.appendChild(svgEl('g', { class: 'labels' }));
        this.stopEls = new Map();
    }

    project(lat, lon) {
        return [(lon - this.lon0) * this.kx, -(lat - this.lat0) * this.ky];
    }

    // Stops as circles (the depot as a square); nameOf(stop) gives the
    // tooltip; onClick(stop) makes them clickable.
    drawStops(nameOf, onClick) {
        this.gStops.replaceChildren();
        this.stopEls.clear();
        for (const s of this.stops) {
            const [x, y] = this.project(s.lat, s.lon);
            const r = this.r;
            const shape =
                s.kind === 'depot'
                    ? svgEl('rect', { x: x - r * 1.3, y: y - r * 1.3, width: r * 2.6, height: r * 2.6, class: 'depot' })
                    : svgEl('circle', { cx: x, cy: y, r, class: 'stop' });
            const g = svgEl('g', { class: 'stopmark', 'data-stop': s.id }, shape, svgEl('title', {}, nameOf(s)));
            if (onClick) {
                g.classList.add('clickable');
                g.addEventListener('click', () => onClick(s));
            }
            this.gStops.append(g);
            this.stopEls.set(s.id, g);
        }
    }

    // Marks given stops with a class and a label: marks = [{stopId, cls, label}]
    mark(marks) {
        this.gMarks.replaceChildren();
        this.gLabels.replaceChildren();
        for (const m of marks) {
            const s = this.byId.get(m.stopId);
            if (!s) {
                continue;
            }
            const [x, y] = this.project(s.lat, s.lon);
            this.gMarks.append(svgEl('circle', { cx: x, cy: y, r: this.r * 2.2, class: `mark ${m.cls || ''}` }));
            if (m.label) {
                this.label(x, y, m.label, m.cls);
            }
        }
    }

    label(x, y, text, cls) {
        const fs = this.extent / 45;
        this.gLabels.append(
            svgEl('text', { x: x + this.r * 2.6, y: y - this.r * 1.5, 'font-size': fs, class: `label ${cls || ''}` }, text),
        );
    }

    clearVehicles() {
        this.gRoutes.replaceChildren();
        this.gVehicles.replaceChildren();
    }

    // A vehicle's route: from its position through its stops, in colour.
    drawRoute(points, color, dashed) {
        if (points.length < 2) {
            return;
        }
        const d = points.map((p) => this.project(p.lat, p.lon).map((v) => v.toFixed(1)).join(',')).join(' ');
        this.gRoutes.append(
            svgEl('polyline', {
                points: d,
                stroke: color,
                class: dashed ? 'route dashed' : 'route',
                fill: 'none',
                'vector-effect': 'non-scaling-stroke',
            }),
        );
    }

    drawVehicle(lat, lon, color, text, title) {
        const [x, y] = this.project(lat, lon);
        const r = this.r * 2.4;
        const g = svgEl(
            'g',
            { class: 'vehicle' },
            svgEl('circle', { cx: x, cy: y, r, fill: color, class: 'vehicle-dot' }),
            svgEl('text', { x, y: y + r * 0.4, 'font-size': r * 1.1, 'text-anchor': 'middle', class: 'vehicle-text' }, text),
            svgEl('title', {}, title || text),
        );
        this.gVehicles.append(g);
    }
}

export const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22'];
