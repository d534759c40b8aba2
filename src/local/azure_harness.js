// Runs one function of a generated Azure Functions Node app the way the host
// would call it. Used by `fnctl invoke --local --as azure` and fnctl's tests.
// Arguments: the app directory, the Azure function name, a result file. The
// AWS-shaped event (for HTTP, an API Gateway payload 1.0 or 2.0 event; for
// a queue trigger, an SQS event of one record, as fnctl hands each run one
// message) arrives on stdin; it becomes the Azure input, built with
// the types of Microsoft's @azure/functions package (HttpRequest,
// InvocationContext), and the generated app turns it back into the AWS event.
// The outcome is written as JSON: {"payload": ...} or {"error": {...}}.
'use strict';

const fs = require('fs');
const path = require('path');

/** The Azure request init for an API Gateway payload 1.0 event. */
function requestInit(event) {
    const query = event.multiValueQueryStringParameters
        || Object.fromEntries(Object.entries(event.queryStringParameters || {}).map(([k, v]) => [k, [v]]));
    const search = new URLSearchParams();
    for (const [k, values] of Object.entries(query)) for (const v of values) search.append(k, v);
    const qs = search.toString();
    const url = 'http://localhost' + (event.path || '/') + (qs ? '?' + qs : '');
    const headers = {};
    for (const [k, v] of Object.entries(event.headers || {})) headers[k.toLowerCase()] = v;
    return { method: event.httpMethod || 'GET', url, headers, params: event.pathParameters || {} };
}

/** The request an HTTP API payload format 2.0 event stands for, as Azure
 * would deliver it: the method from requestContext.http.method (else the
 * routeKey), the path from rawPath without the `/{stage}` prefix a stage
 * other than `$default` adds, the query from rawQueryString, and `cookies`
 * back as one Cookie header. */
function requestInitV2(event) {
    const context = event.requestContext || {};
    const http = context.http || {};
    const routeKey = event.routeKey || context.routeKey || '';
    let method = http.method || routeKey.split(' ')[0];
    if (!method || method === 'ANY' || method === '$default') method = 'GET';
    let p = event.rawPath || http.path || '/';
    const stage = context.stage || '$default';
    const prefix = '/' + stage;
    if (stage !== '$default' && (p === prefix || p.startsWith(prefix + '/'))) p = p.slice(prefix.length) || '/';
    let qs = event.rawQueryString;
    if (qs === undefined || qs === null) {
        const search = new URLSearchParams();
        for (const [k, v] of Object.entries(event.queryStringParameters || {})) for (const x of String(v).split(',')) search.append(k, x);
        qs = search.toString();
    }
    const headers = {};
    for (const [k, v] of Object.entries(event.headers || {})) headers[k.toLowerCase()] = v;
    const cookies = (event.cookies || []).filter((c) => c);
    if (cookies.length) headers.cookie = cookies.join('; ');
    const url = 'http://localhost' + p + (qs ? '?' + qs : '');
    return { method: method.toUpperCase(), url, headers, params: event.pathParameters || {} };
}

/** The Azure response as fnctl reports an HTTP answer: status, headers (a
 * header sent several times, such as the Set-Cookie of each cookie a
 * payload 2.0 result sets, keeps its first value there and lists every
 * value under multiValueHeaders), and the body (base64 when not UTF-8).
 * The adapter answers with headers as an object or, for 2.0, as pairs. */
function httpPayload(response) {
    let pairs = [];
    const h = response.headers;
    if (Array.isArray(h)) pairs = h;
    else if (h && typeof h[Symbol.iterator] === 'function') pairs = [...h];
    else if (h) pairs = Object.entries(h);
    const headers = {};
    const multi = {};
    for (const [k, v] of pairs) {
        if (!(k in headers)) headers[k] = String(v);
        (multi[k] = multi[k] || []).push(String(v));
    }
    const body = Buffer.from(response.body || []);
    const decoded = new TextDecoder('utf-8', { fatal: false }).decode(body);
    const isText = Buffer.from(decoded, 'utf8').equals(body);
    const payload = {
        statusCode: response.status,
        headers,
        body: isText ? decoded : body.toString('base64'),
        isBase64Encoded: !isText,
    };
    const repeated = Object.fromEntries(Object.entries(multi).filter(([, v]) => v.length > 1));
    if (Object.keys(repeated).length) payload.multiValueHeaders = repeated;
    return payload;
}

/** The message and trigger metadata the v4 Node model hands a storageQueue
 * handler for one Storage queue message, from the one SQS record fnctl
 * hands each run (as the Python harness builds its QueueMessage): the
 * record's body (a JSON object or array arrives parsed, any other message
 * as text), messageId (as id), receiptHandle (as popReceipt),
 * ApproximateReceiveCount (as dequeueCount) and SentTimestamp (as
 * insertionTime); the adapter turns them back into that record. */
function queueInput(event) {
    const record = event.Records[0];
    const attributes = record.attributes || {};
    const body = typeof record.body === 'string' ? record.body : JSON.stringify(record.body);
    let message = body;
    const trimmed = body.trim();
    if ((trimmed.startsWith('{') && trimmed.endsWith('}')) || (trimmed.startsWith('[') && trimmed.endsWith(']'))) {
        try {
            message = JSON.parse(trimmed);
        } catch (_) {
            message = body;
        }
    }
    const sent = Number(attributes.SentTimestamp);
    const triggerMetadata = {
        id: record.messageId || require('crypto').randomUUID(),
        popReceipt: record.receiptHandle || '',
        dequeueCount: Number(attributes.ApproximateReceiveCount) || 1,
        queueTrigger: body,
    };
    if (attributes.SentTimestamp && !Number.isNaN(sent)) triggerMetadata.insertionTime = new Date(sent).toISOString();
    return { message, triggerMetadata };
}

async function main() {
    const [appDir, functionName, resultFile] = process.argv.slice(2);
    const event = JSON.parse(fs.readFileSync(0, 'utf8'));
    const azf = require(require.resolve('@azure/functions', { paths: [appDir] }));

    // Record registrations instead of handing them to a host.
    const registered = {};
    for (const kind of ['http', 'storageBlob', 'storageQueue', 'timer']) {
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
            const init = event.version === '2.0' || 'rawPath' in event ? requestInitV2(event) : requestInit(event);
            if (event.body !== null && event.body !== undefined) {
                init.body = event.isBase64Encoded
                    ? { bytes: new Uint8Array(Buffer.from(event.body, 'base64')) }
                    : { string: event.body };
            }
            const request = new azf.HttpRequest(init);
            const context = new azf.InvocationContext(base);
            const response = await fn.options.handler(request, context);
            result = { payload: httpPayload(response) };
        } else if (fn.kind === 'storageQueue') {
            // One message per run, as the host hands them; a throw (the
            // adapter throws for batchItemFailures naming the message) fails
            // it.
            const { message, triggerMetadata } = queueInput(event);
            const context = new azf.InvocationContext({ ...base, triggerMetadata });
            await fn.options.handler(message, context);
            result = { payload: null };
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
