// Runs one function of a generated Azure Functions Node app the way the host
// would call it. Used by `fnctl invoke --local --as azure` and fnctl's tests.
// Arguments: the app directory, the Azure function name, a result file. The
// AWS-shaped event arrives on stdin; it becomes the Azure input, built with
// the types of Microsoft's @azure/functions package (HttpRequest,
// InvocationContext), and the generated app turns it back into the AWS event.
// The outcome is written as JSON: {"payload": ...} or {"error": {...}}.
'use strict';

const fs = require('fs');
const path = require('path');

async function main() {
    const [appDir, functionName, resultFile] = process.argv.slice(2);
    const event = JSON.parse(fs.readFileSync(0, 'utf8'));
    const azf = require(require.resolve('@azure/functions', { paths: [appDir] }));

    // Record registrations instead of handing them to a host.
    const registered = {};
    for (const kind of ['http', 'storageBlob', 'timer']) {
        azf.app[kind] = (name, options) => {
            registered[name] = { kind, options };
        };
    }
    const errors = [];
    let result;
    try {
        require(path.join(appDir, 'fnctl_azure_app.js'));
        const fn = registered[functionName];
        if (!fn) throw new Error(`no function ${functionName} was registered`);
        const logged = (...args) => errors.push(args.join(' '));
        const base = {
            invocationId: 'local-' + process.pid,
            functionName,
            logHandler: (level, ...args) => {
                const line = args.join(' ');
                if (level === 'error') logged(line);
                console.log(line);
            },
        };
        if (fn.kind === 'http') {
            const query = event.multiValueQueryStringParameters
                || Object.fromEntries(Object.entries(event.queryStringParameters || {}).map(([k, v]) => [k, [v]]));
            const search = new URLSearchParams();
            for (const [k, values] of Object.entries(query)) for (const v of values) search.append(k, v);
            const qs = search.toString();
            const url = 'http://localhost' + (event.path || '/') + (qs ? '?' + qs : '');
            const headers = {};
            for (const [k, v] of Object.entries(event.headers || {})) headers[k.toLowerCase()] = v;
            const init = { method: event.httpMethod || 'GET', url, headers, params: event.pathParameters || {} };
            if (event.body !== null && event.body !== undefined) {
                init.body = event.isBase64Encoded
                    ? { bytes: new Uint8Array(Buffer.from(event.body, 'base64')) }
                    : { string: event.body };
            }
            const request = new azf.HttpRequest(init);
            const context = new azf.InvocationContext(base);
            const response = await fn.options.handler(request, context);
            const body = Buffer.from(response.body || []);
            const decoded = new TextDecoder('utf-8', { fatal: false }).decode(body);
            const isText = Buffer.from(decoded, 'utf8').equals(body);
            result = {
                payload: {
                    statusCode: response.status,
                    headers: response.headers || {},
                    body: isText ? decoded : body.toString('base64'),
                    isBase64Encoded: !isText,
                },
            };
        } else if (fn.kind === 'storageBlob') {
            const s3 = event.Records[0].s3;
            const key = decodeURIComponent(s3.object.key.replace(/\+/g, ' '));
            const context = new azf.InvocationContext({
                ...base,
                triggerMetadata: {
                    blobTrigger: `${s3.bucket.name}/${key}`,
                    name: key,
                    properties: { length: s3.object.size },
                },
            });
            await fn.options.handler(Buffer.alloc(0), context);
            result = { payload: null };
        } else {
            const context = new azf.InvocationContext(base);
            await fn.options.handler({ isPastDue: false, schedule: { adjustForDST: true } }, context);
            result = { payload: null };
        }
        if (errors.length) result.error = { errorType: 'HandlerError', errorMessage: errors[0] };
    } catch (err) {
        console.error(err && err.stack ? err.stack : String(err));
        result = { error: { errorType: (err && err.name) || 'Error', errorMessage: String(err && err.message) } };
    }
    fs.writeFileSync(resultFile, JSON.stringify(result));
}

main();
