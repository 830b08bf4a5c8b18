#!/usr/bin/env node
// check-openapi.js - a structural check of api/openapi.json, run by hand
// after editing it (node, no packages):
//
//   node scripts/check-openapi.js [api/openapi.json] [api/server/routes.c]
//
// Checks: valid JSON, OpenAPI 3.0.3 shape; paths and methods exactly those
// of the route table in routes.c ('*' written {id}), x-roles equal to the
// table's roles; path parameters declared; every POST takes the
// Idempotency-Key header; every $ref resolves; schemas: known types,
// `required` names only declared properties, nothing beside a $ref;
// responses are status codes or "default", each with a description.
// Prints each problem and exits 1, or prints a summary and exits 0.
'use strict';
const fs = require('fs');

const docPath = process.argv[2] || 'api/openapi.json';
const routesPath = process.argv[3] || 'api/server/routes.c';
const problems = [];
const bad = (where, what) => problems.push(`${where}: ${what}`);

let doc;
try {
    doc = JSON.parse(fs.readFileSync(docPath, 'utf8'));
} catch (e) {
    console.error(`${docPath}: ${e.message}`);
    process.exit(1);
}

// The route table: {"GET", "/v1/x/*", ROLES, h_fn},
const ROLE_SETS = {
    API_ROLE_ADMIN: ['admin'], API_ROLE_OPERATOR: ['operator'], API_ROLE_RIDER: ['rider'],
    API_ROLE_DRIVER: ['driver'], API_ROLE_PLANNER: ['planner'], API_ROLE_PUBLIC: ['public'],
    STAFF: ['admin', 'operator'], READERS: ['admin', 'operator', 'planner'],
    ALL_ROLES: ['admin', 'operator', 'rider', 'driver', 'planner'],
};
const src = fs.readFileSync(routesPath, 'utf8');
const table = src.slice(src.indexOf('static const route routes[]'));
const routes = [];
for (const m of table.matchAll(/\{"([A-Z]+)",\s*"([^"]+)",\s*([A-Z_| ]+),\s*h_\w+\}/g)) {
    const roles = new Set();
    for (const part of m[3].split('|').map((s) => s.trim())) {
        if (!ROLE_SETS[part])
            bad(routesPath, `unknown role expression ${part}`);
        else
            ROLE_SETS[part].forEach((r) => roles.add(r));
    }
    routes.push({ method: m[1].toLowerCase(), path: m[2].replace(/\*/g, '{id}'), roles });
}
if (routes.length === 0)
    bad(routesPath, 'no route table found');

// $ref resolution.
function resolve(ref) {
    if (!ref.startsWith('#/'))
        return undefined;
    let node = doc;
    for (const part of ref.slice(2).split('/'))
        node = node && typeof node === 'object' ? node[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
    return node;
}
const deref = (x) => (x && x.$ref ? resolve(x.$ref) : x);

function walkRefs(node, where) {
    if (Array.isArray(node)) {
        node.forEach((x, i) => walkRefs(x, `${where}[${i}]`));
    } else if (node && typeof node === 'object') {
        if (typeof node.$ref === 'string') {
            if (resolve(node.$ref) === undefined)
                bad(where, `unresolved $ref ${node.$ref}`);
            const others = Object.keys(node).filter((k) => k !== '$ref');
            if (others.length)
                bad(where, `keys beside $ref are ignored: ${others.join(', ')}`);
        }
        for (const [k, v] of Object.entries(node))
            walkRefs(v, `${where}/${k}`);
    }
}

const TYPES = ['string', 'number', 'integer', 'boolean', 'array', 'object'];
function checkSchema(s, where, parentProps) {
    if (!s || typeof s !== 'object') {
        bad(where, 'schema is not an object');
        return;
    }
    if (s.$ref)
        return;
    if (s.type !== undefined && !TYPES.includes(s.type))
        bad(where, `unknown type ${s.type}`);
    if (s.nullable !== undefined && s.type === undefined)
        bad(where, 'nullable without type');
    if (s.type === 'array' && !s.items)
        bad(where, 'array without items');
    if (s.required !== undefined) {
        if (!Array.isArray(s.required) || s.required.length === 0)
            bad(where, 'required must be a non-empty array');
        else
            for (const r of s.required)
                if (!(s.properties && r in s.properties) && !(parentProps && r in parentProps))
                    bad(where, `required "${r}" is not a property`);
    }
    if (Array.isArray(s.enum) && s.type) {
        for (const e of s.enum) {
            const t = e === null ? 'null' : typeof e;
            const ok = e === null ? s.nullable === true
                : s.type === 'integer' ? Number.isInteger(e)
                : s.type === t;
            if (!ok)
                bad(where, `enum value ${JSON.stringify(e)} is not a ${s.type}`);
        }
    }
    for (const [k, v] of Object.entries(s.properties || {}))
        checkSchema(v, `${where}.${k}`);
    if (s.items)
        checkSchema(s.items, `${where}[]`);
    for (const key of ['anyOf', 'oneOf', 'allOf'])
        (s[key] || []).forEach((x, i) => checkSchema(x, `${where}.${key}[${i}]`, s.properties));
    if (s.additionalProperties && typeof s.additionalProperties === 'object')
        checkSchema(s.additionalProperties, `${where}.additionalProperties`);
}

function checkContent(content, where) {
    for (const [type, media] of Object.entries(content || {})) {
        if (!media.schema)
            bad(`${where} ${type}`, 'no schema');
        else
            checkSchema(media.schema, `${where} ${type}`);
    }
}

// Top level.
if (doc.openapi !== '3.0.3')
    bad('openapi', `is ${doc.openapi}, want 3.0.3`);
if (!doc.info || !doc.info.title || !doc.info.version)
    bad('info', 'needs title and version');
if (!doc.paths || typeof doc.paths !== 'object')
    bad('paths', 'missing');
const schemes = (doc.components && doc.components.securitySchemes) || {};
for (const req of doc.security || [])
    for (const name of Object.keys(req))
        if (!schemes[name])
            bad('security', `unknown scheme ${name}`);
walkRefs(doc, '#');
for (const [name, s] of Object.entries((doc.components && doc.components.schemas) || {}))
    checkSchema(s, `schemas.${name}`);

// Paths against the route table.
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const seen = new Set();
let nOps = 0;
for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const [method, op] of Object.entries(item)) {
        if (!METHODS.includes(method)) {
            bad(path, `unexpected key ${method}`);
            continue;
        }
        nOps++;
        const where = `${method.toUpperCase()} ${path}`;
        const route = routes.find((r) => r.method === method && r.path === path);
        if (!route) {
            bad(where, 'not in the route table');
            continue;
        }
        seen.add(`${method} ${path}`);
        const roles = new Set(op['x-roles'] || []);
        const want = [...route.roles].sort().join(',');
        if ([...roles].sort().join(',') !== want)
            bad(where, `x-roles ${[...roles].sort().join(',')} but the route table says ${want}`);
        const isPublic = route.roles.has('public');
        if (isPublic && !(Array.isArray(op.security) && op.security.length === 0))
            bad(where, 'public route without security: []');
        const params = (op.parameters || []).map(deref);
        params.forEach((p, i) => {
            if (!p || !p.name || !p.in)
                bad(where, `parameter ${i} lacks name or in`);
            else if (!p.schema)
                bad(where, `parameter ${p.name} has no schema`);
            else
                checkSchema(p.schema, `${where} parameter ${p.name}`);
        });
        const pathNames = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        for (const n of pathNames)
            if (!params.some((p) => p && p.in === 'path' && p.name === n && p.required === true))
                bad(where, `path parameter {${n}} not declared (required: true)`);
        for (const p of params)
            if (p && p.in === 'path' && !pathNames.includes(p.name))
                bad(where, `path parameter ${p.name} is not in the path`);
        if (method === 'post' &&
            !params.some((p) => p && p.in === 'header' && p.name === 'Idempotency-Key'))
            bad(where, 'POST without the Idempotency-Key header parameter');
        if (op.requestBody) {
            const rb = deref(op.requestBody);
            if (!rb.content)
                bad(where, 'requestBody without content');
            checkContent(rb.content, `${where} requestBody`);
        }
        const responses = op.responses || {};
        if (Object.keys(responses).length === 0)
            bad(where, 'no responses');
        for (const [code, r0] of Object.entries(responses)) {
            if (code !== 'default' && !/^[1-5][0-9][0-9]$/.test(code))
                bad(where, `response key ${code}`);
            const r = deref(r0);
            if (!r || typeof r.description !== 'string')
                bad(`${where} ${code}`, 'response without description');
            else
                checkContent(r.content, `${where} ${code}`);
        }
        if (!isPublic && !responses['401'])
            bad(where, 'no 401 answer on a route that needs a token');
        if (!op['x-roles'])
            bad(where, 'no x-roles');
    }
}
for (const r of routes)
    if (!seen.has(`${r.method} ${r.path}`))
        bad(`${r.method.toUpperCase()} ${r.path}`, 'in the route table but not in the document');

if (problems.length) {
    problems.forEach((p) => console.error(p));
    console.error(`${problems.length} problem(s) in ${docPath}`);
    process.exit(1);
}
console.log(`${docPath}: OK - ${nOps} operations match the ${routes.length} routes of ${routesPath}`);
