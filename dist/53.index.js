export const id = 53;
export const ids = [53];
export const modules = {

/***/ 7053:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  defaultDescription: () => (/* binding */ defaultDescription),
  deploySummary: () => (/* binding */ deploySummary),
  preflight: () => (/* binding */ preflight),
  publishAndAttach: () => (/* binding */ publishAndAttach)
});

// EXTERNAL MODULE: ./node_modules/@actions/core/lib/core.js + 7 modules
var core = __webpack_require__(33838);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(76760);
var external_node_path_default = /*#__PURE__*/__webpack_require__.n(external_node_path_);
// EXTERNAL MODULE: ./node_modules/@aws-sdk/client-lambda/dist-cjs/index.js
var dist_cjs = __webpack_require__(71696);
// EXTERNAL MODULE: ./node_modules/@aws-sdk/client-s3/dist-cjs/index.js
var client_s3_dist_cjs = __webpack_require__(53711);
// EXTERNAL MODULE: ./src/facts.ts
var facts = __webpack_require__(632);
// EXTERNAL MODULE: ./src/errors.ts
var errors = __webpack_require__(83916);
;// CONCATENATED MODULE: ./src/aws.ts
// AWS clients, created once per region. Credentials, region and endpoints come only from the
// SDK's default chain (env, profile, OIDC via aws-actions/configure-aws-credentials), and
// AWS_ENDPOINT_URL_LAMBDA / AWS_ENDPOINT_URL_S3 point the action at a local Lambda API.




/** Kept equal to package.json's version by a test; a JSON import would complicate the bundle. */
const ACTION_VERSION = '1.0.0';
// Throttling, 5xx and dropped connections are retried by the SDK's standard strategy; five
// attempts ride out a burst of TooManyRequestsException across concurrent regions.
const MAX_ATTEMPTS = 5;
function awsClients(settings = {}, env = process.env) {
    const lambdas = new Map();
    const buckets = new Map();
    const common = {
        maxAttempts: MAX_ATTEMPTS,
        customUserAgent: [[facts/* ACTION_NAME */.px, ACTION_VERSION]],
        ...settings
    };
    return {
        lambda(region) {
            let client = lambdas.get(region);
            if (!client) {
                client = new dist_cjs/* LambdaClient */.Nox({ ...common, region });
                lambdas.set(region, client);
            }
            return client;
        },
        s3(region) {
            let client = buckets.get(region);
            if (!client) {
                client = new client_s3_dist_cjs/* S3Client */.YxF({
                    ...common,
                    region,
                    forcePathStyle: usesCustomS3Endpoint(settings, env)
                });
                buckets.set(region, client);
            }
            return client;
        }
    };
}
/**
 * A local S3 (the emulator, LocalStack, MinIO) serves buckets as paths, not as
 * `bucket.host` names; real S3 wants the default virtual-hosted style.
 */
function usesCustomS3Endpoint(settings, env = process.env) {
    return Boolean(settings.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL);
}
let shared;
/** The action's clients: one per region for the whole run. */
function defaultClients() {
    shared ??= awsClients();
    return shared;
}
function lambdaClient(region) {
    return defaultClients().lambda(region);
}
function s3Client(region) {
    return defaultClients().s3(region);
}
/**
 * The region from the SDK's chain (AWS_REGION, then the profile's `region`). The JS SDK
 * ignores AWS_DEFAULT_REGION, which the AWS CLI and many workflows set, so it is read too.
 */
async function defaultRegion(env = process.env) {
    try {
        const region = await new dist_cjs/* LambdaClient */.Nox({}).config.region();
        if (region)
            return region;
    }
    catch {
        // No region in the chain: fall through to AWS_DEFAULT_REGION, then the error below.
    }
    if (env.AWS_DEFAULT_REGION)
        return env.AWS_DEFAULT_REGION;
    throw new Error((0,errors/* describeAwsError */.Pp)(new Error('Region is missing'), { action: 'resolve the AWS region' }));
}

;// CONCATENATED MODULE: ./src/attach.ts
// Moves a function onto the new layer version without disturbing its other layers: the
// only write is one UpdateFunctionConfiguration carrying the whole planned list, guarded by
// the RevisionId just read, and it is followed by the SDK's waiter until Lambda settles.




// Most updates settle in seconds; functions in a VPC can take minutes.
const DEFAULT_WAITER = { maxWaitTime: 600, minDelay: 1, maxDelay: 15 };
/** A layer version ARN without its version: `arn:…:layer:name`. */
function layerArnOf(layerVersionArn) {
    return layerVersionArn.replace(/:\d+$/, '');
}
/**
 * The function's new layer list: the entry of the same layer (same ARN without the
 * version: a whole-name match, so `my-layer` never matches `my-layer-2`) is replaced in
 * place, keeping the order Lambda merges layers in; otherwise the layer is appended.
 */
function planLayers(current, layerVersionArn, functionName = 'the function') {
    const layer = layerArnOf(layerVersionArn);
    const index = current.findIndex(arn => layerArnOf(arn) === layer);
    const planned = index === -1
        ? [...current, layerVersionArn]
        : current
            .map((arn, i) => (i === index ? layerVersionArn : arn))
            .filter((arn, i) => i === index || layerArnOf(arn) !== layer);
    if (planned.length > facts/* LIMITS */.b1.layersPerFunction) {
        throw new Error(`${functionName} already has ${current.length} layers (${current.join(', ')}); adding ` +
            `${layer} would exceed Lambda's limit of ${facts/* LIMITS */.b1.layersPerFunction}. Remove a layer ` +
            'from the function (or merge two), then rerun.');
    }
    return planned;
}
const FUNCTION_ARN = /^arn:[^:]+:lambda:([^:]+):\d{12}:function:([^:]+)(?::([^:]+))?$/;
function parseFunctionRef(name) {
    const arn = FUNCTION_ARN.exec(name);
    const qualifier = arn ? arn[3] : /^\d{12}:function:[^:]+:([^:]+)$/.exec(name)?.[1];
    if (qualifier) {
        throw new Error(`functions: ${name} names version or alias "${qualifier}"; layers are set on the ` +
            'unpublished function, so give it without the qualifier.');
    }
    const functionName = arn?.[2] ?? /^\d{12}:function:([^:]+)$/.exec(name)?.[1] ?? name;
    return arn ? { name, functionName, region: arn[1] } : { name, functionName };
}
/**
 * An ARN is attached only in its own region; a plain name in every published region. A
 * function named twice in a region (say by name and by ARN) is placed once, as first given,
 * so it is never updated twice at once.
 */
function placeFunctions(functions, regions) {
    const byRegion = new Map(regions.map(region => [region, []]));
    const placed = new Set();
    const place = (region, ref) => {
        const key = `${region}\n${ref.functionName}`;
        if (placed.has(key))
            return;
        placed.add(key);
        byRegion.get(region)?.push(ref.name);
    };
    const unplaced = [];
    for (const name of functions) {
        const ref = parseFunctionRef(name);
        if (!ref.region) {
            for (const region of byRegion.keys())
                place(region, ref);
        }
        else if (byRegion.has(ref.region)) {
            place(ref.region, ref);
        }
        else {
            unplaced.push({
                function: name,
                region: ref.region,
                before: [],
                after: [],
                status: 'failed',
                error: `${name} is in ${ref.region}, which is not in regions (${regions.join(', ')}): add it there.`
            });
        }
    }
    return { byRegion, unplaced };
}
/** Refuses a function whose runtime or architecture the layer was not built for. */
function checkFit(functionName, config, fit) {
    if (config.PackageType === 'Image') {
        throw new Error(`${functionName} is a container image function; those cannot use layers.`);
    }
    const runtime = config.Runtime ?? 'unknown';
    const architecture = config.Architectures?.[0] ?? 'x86_64';
    if (!fit.runtimes.includes(runtime) || !fit.architectures.includes(architecture)) {
        throw new Error(`${functionName} runs ${runtime} on ${architecture}, but the layer is for ` +
            `${fit.runtimes.join('/')} on ${fit.architectures.join('/')}; it was not updated. ` +
            `Build a layer for ${runtime} on ${architecture}, or leave this function out of \`functions\`.`);
    }
}
async function attachToFunction(client, functionName, layerVersionArn, fit, options) {
    const { region } = options;
    const waiter = options.waiter ?? DEFAULT_WAITER;
    const maxAttempts = options.maxAttempts ?? 4;
    let before;
    const result = (status, after, error) => ({
        function: functionName,
        region,
        before: before ?? [],
        after,
        status,
        ...(error === undefined ? {} : { error }),
        ...(before === undefined ? { layersUnknown: true } : {})
    });
    try {
        for (let attempt = 1;; attempt++) {
            const config = await readSettled(client, functionName, region, waiter);
            before = (config.Layers ?? []).flatMap(layer => (layer.Arn ? [layer.Arn] : []));
            checkFit(functionName, config, fit);
            const planned = planLayers(before, layerVersionArn, functionName);
            // After a failed update the list may read as planned without being in effect: resend it.
            const lastFailed = config.LastUpdateStatus === 'Failed';
            if (sameList(before, planned) && !lastFailed)
                return result('unchanged', planned);
            if (lastFailed) {
                const why = config.LastUpdateStatusReason ?? 'no reason given';
                core/* info */.pq(`${region}: ${functionName}'s last update failed; sending its layers again. ${why}`);
            }
            try {
                await client.send(new dist_cjs/* UpdateFunctionConfigurationCommand */.Zlw({
                    FunctionName: functionName,
                    Layers: planned,
                    RevisionId: config.RevisionId
                }));
            }
            catch (error) {
                // 409: another update started since the read; 412: the function changed since the
                // read. Either way, read again (readSettled waits out an update) and replan.
                const name = (0,errors/* awsErrorName */.ZH)(error);
                const retryable = name === 'ResourceConflictException' || name === 'PreconditionFailedException';
                if (retryable && attempt < maxAttempts) {
                    core/* info */.pq(`${region}: ${functionName} changed under us (${name}); reading it again`);
                    continue;
                }
                throw new errors/* AwsCallError */.iQ((0,errors/* describeAwsError */.Pp)(error, {
                    action: 'lambda:UpdateFunctionConfiguration',
                    resource: `function ${functionName}`,
                    region
                }), error);
            }
            const settled = await waitForUpdate(client, functionName, region, waiter);
            if (settled.LastUpdateStatus === 'Failed') {
                const why = settled.LastUpdateStatusReason ?? 'no reason given';
                throw new Error(`Lambda could not apply the new layers to ${functionName}: ${why}`);
            }
            const after = (settled.Layers ?? []).flatMap(layer => (layer.Arn ? [layer.Arn] : []));
            core/* info */.pq(`${region}: ${functionName} now uses ${layerVersionArn}`);
            return result('updated', settled.Layers ? after : planned);
        }
    }
    catch (error) {
        return result('failed', before ?? [], (0,errors/* errorMessage */.gJ)(error));
    }
}
/** The function's configuration once no creation or update is running on it. */
async function readSettled(client, functionName, region, waiter) {
    const config = await (0,errors/* awsCall */.uF)({
        action: 'lambda:GetFunctionConfiguration',
        resource: `function ${functionName}`,
        region
    }, () => client.send(new dist_cjs/* GetFunctionConfigurationCommand */.qA6({ FunctionName: functionName })));
    if (config.State === 'Pending') {
        core/* info */.pq(`${region}: ${functionName} is still being created; waiting`);
        return waitUntilSettled(dist_cjs/* waitForFunctionActive */.BKl, client, functionName, region, waiter);
    }
    if (config.LastUpdateStatus === 'InProgress') {
        // Someone else's update: wait it out rather than fail; whether it succeeded is theirs.
        core/* info */.pq(`${region}: ${functionName} has an update in progress; waiting for it`);
        return waitForUpdate(client, functionName, region, waiter);
    }
    return config;
}
/**
 * Waits with the SDK's waiter until LastUpdateStatus leaves InProgress. The FunctionUpdated
 * waiter polls GetFunctionConfiguration, which this action needs anyway; the V2 waiter would
 * also need lambda:GetFunction, which hands out a download URL for the function's code.
 */
function waitForUpdate(client, functionName, region, waiter) {
    return waitUntilSettled(dist_cjs/* waitForFunctionUpdated */.GNm, client, functionName, region, waiter);
}
/**
 * Runs one of the SDK's function waiters. They retry every error until maxWaitTime, so a
 * function deleted, or a permission lost, while waiting would look like a function that stays
 * busy; such an error aborts the waiter through its own abortSignal and is reported as is.
 */
async function waitUntilSettled(wait, client, functionName, region, waiter) {
    const abort = new AbortController();
    let fatal;
    const watched = {
        config: client.config,
        send: (command) => client.send(command).catch((error) => {
            if ((0,errors/* awsErrorName */.ZH)(error) === 'ResourceNotFoundException' || (0,errors/* isAccessDenied */.w7)(error)) {
                fatal = error;
                abort.abort();
            }
            throw error;
        })
    };
    const outcome = await wait({ client: watched, abortSignal: abort.signal, ...waiter }, { FunctionName: functionName });
    if (fatal !== undefined) {
        const context = {
            action: 'lambda:GetFunctionConfiguration',
            resource: `function ${functionName}`,
            region
        };
        throw new errors/* AwsCallError */.iQ((0,errors/* describeAwsError */.Pp)(fatal, context), fatal);
    }
    return settledConfiguration(outcome, functionName, waiter);
}
/** The configuration a waiter ended on (Successful or Failed); a timeout throws. */
function settledConfiguration(outcome, functionName, waiter) {
    const reason = outcome.reason;
    if ((outcome.state === 'SUCCESS' || outcome.state === 'FAILURE') && reason)
        return reason;
    const seen = Object.keys(outcome.observedResponses ?? {}).join('; ');
    throw new Error(`${functionName} was still busy after ${waiter.maxWaitTime} s ` +
        `(lambda:GetFunctionConfiguration answered: ${seen || 'nothing'}).`);
}
function sameList(a, b) {
    return a.length === b.length && a.every((item, i) => item === b[i]);
}

;// CONCATENATED MODULE: ./src/cleanup.ts
// keep-versions: deletes layer versions of this build's runtime and architecture older than the
// newest N. A version that the run just published (or reused) or that a named function still
// uses is kept, with the reason, because deleting it breaks the next deploy that references it.



/** Which versions to delete and which to keep (newest first), and why each is kept. */
function planCleanup(input) {
    const newestFirst = [...new Set(input.versions)].sort((a, b) => b - a);
    const result = { deleted: [], kept: [] };
    newestFirst.forEach((version, index) => {
        const users = input.inUse.get(version);
        if (version === input.current) {
            result.kept.push({ version, reason: 'the version this run published or reused' });
        }
        else if (index < input.keep) {
            result.kept.push({ version, reason: `among the newest ${input.keep}` });
        }
        else if (users?.length) {
            result.kept.push({ version, reason: `still used by ${users.join(', ')}` });
        }
        else if (input.unknownUse) {
            result.kept.push({ version, reason: input.unknownUse });
        }
        else {
            result.deleted.push(version);
        }
    });
    return result;
}
/**
 * Every version number of the layer in the lineage, following ListLayerVersions' Marker
 * paging. Lambda lists a version under a filter only when it names that runtime or
 * architecture, so another build's versions are never counted or deleted.
 */
async function listLayerVersionNumbers(client, region, layerName, lineage = {}) {
    return (0,errors/* awsCall */.uF)({ action: 'lambda:ListLayerVersions', resource: `layer ${layerName}`, region }, async () => {
        const versions = [];
        for await (const page of (0,dist_cjs/* paginateListLayerVersions */.Y9l)({ client, pageSize: 50 }, { LayerName: layerName, ...lineage })) {
            for (const item of page.LayerVersions ?? []) {
                if (item.Version !== undefined)
                    versions.push(item.Version);
            }
        }
        return versions;
    });
}
async function cleanupLayerVersions(client, region, layerName, { lineage, ...plan }) {
    const versions = await listLayerVersionNumbers(client, region, layerName, lineage);
    const result = planCleanup({ ...plan, versions });
    for (const version of result.deleted) {
        await (0,errors/* awsCall */.uF)({
            action: 'lambda:DeleteLayerVersion',
            resource: `layer ${layerName} version ${version}`,
            region
        }, () => client.send(new dist_cjs/* DeleteLayerVersionCommand */.KnR({ LayerName: layerName, VersionNumber: version })));
        core/* info */.pq(`${region}: deleted ${layerName} version ${version}`);
    }
    return result;
}

// EXTERNAL MODULE: ./src/concurrency.ts
var concurrency = __webpack_require__(81532);
// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(77598);
// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(73024);
// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __webpack_require__(51455);
// EXTERNAL MODULE: ./src/layer-name.ts
var layer_name = __webpack_require__(14268);
;// CONCATENATED MODULE: ./src/publish.ts
// Publishes the layer zip as a new layer version in one region, or reuses the newest version
// of the same runtime and architecture when it already holds the same bytes for the same
// runtimes and architectures.










async function zipFacts(path) {
    const hash = (0,external_node_crypto_.createHash)('sha256');
    for await (const chunk of (0,external_node_fs_.createReadStream)(path))
        hash.update(chunk);
    const digest = hash.digest();
    const { size } = await (0,promises_.stat)(path);
    return { path, size, sha256Hex: digest.toString('hex'), sha256Base64: digest.toString('base64') };
}
/**
 * How the zip reaches Lambda. Called by input validation too, so a zip too big for a
 * direct upload fails before any API call when there is no bucket to send it through.
 */
function planUpload(zipSize, s3Bucket, limit = facts/* LIMITS */.b1.directUploadBytes) {
    if (zipSize <= limit)
        return 'direct';
    if (s3Bucket)
        return 's3';
    throw new Error(`The layer zip is ${megabytes(zipSize)}, above the ${megabytes(limit)} limit for a direct ` +
        'upload to Lambda: set the `s3-bucket` input (a bucket in each target region; ' +
        '`{region}` in the name is replaced) so the zip goes through S3.');
}
/** The S3 object for a zip: keyed by content so a rerun overwrites the same bytes. */
function s3Location(request, region, sha256Hex) {
    if (!request.s3Bucket)
        throw new Error('s3-bucket is required for an upload through S3');
    return {
        bucket: request.s3Bucket.replaceAll('{region}', region),
        key: `${request.s3Prefix ?? ''}${(0,layer_name/* layerBaseName */.m)(request.layerName)}/${sha256Hex}.zip`
    };
}
/** A layer ARN belongs to one region; publishing it elsewhere would fail late, so fail early. */
function checkLayerRegion(layerName, region) {
    const arnRegion = (0,layer_name/* layerArnRegion */.B)(layerName);
    if (arnRegion && arnRegion !== region) {
        throw new Error(`layer-name ${layerName} is an ARN in ${arnRegion}, so it cannot be published to ${region}: ` +
            'use a plain layer name to publish to several regions.');
    }
}
async function publishLayer(clients, region, request, zip) {
    checkLayerRegion(request.layerName, region);
    const facts = zip ?? (await zipFacts(request.zipPath));
    const upload = planUpload(facts.size, request.s3Bucket, request.directUploadLimit);
    const lambda = clients.lambda(region);
    if (request.skipUnchanged) {
        const existing = await findUnchangedVersion(lambda, region, request, facts);
        if (existing) {
            core/* info */.pq(`${region}: ${existing.layerVersionArn} already holds this zip; not publishing`);
            return existing;
        }
    }
    const content = upload === 's3'
        ? await uploadToS3(clients, region, request, facts)
        : { ZipFile: await zipBytes(facts) };
    const response = await (0,errors/* awsCall */.uF)({ action: 'lambda:PublishLayerVersion', resource: `layer ${request.layerName}`, region }, () => lambda.send(new dist_cjs/* PublishLayerVersionCommand */.cl_({
        LayerName: request.layerName,
        Description: request.description || undefined,
        LicenseInfo: request.licenseInfo || undefined,
        CompatibleRuntimes: request.compatibleRuntimes,
        CompatibleArchitectures: request.compatibleArchitectures,
        Content: content
    })));
    // Lambda hashes what it stored: a mismatch means the bytes changed on the way (or in S3).
    const stored = response.Content?.CodeSha256;
    if (stored && stored !== facts.sha256Base64) {
        throw new Error(`${region}: Lambda stored ${response.LayerVersionArn} with CodeSha256 ${stored}, but the zip's ` +
            `is ${facts.sha256Base64}; the upload was altered. Delete that version and rerun.`);
    }
    core/* info */.pq(`${region}: published ${response.LayerVersionArn}`);
    return {
        region,
        layerArn: required(response.LayerArn, 'LayerArn'),
        layerVersionArn: required(response.LayerVersionArn, 'LayerVersionArn'),
        version: required(response.Version, 'Version'),
        published: true,
        codeSha256: stored ?? facts.sha256Base64
    };
}
/**
 * ListLayerVersions filters naming this build's lineage: its first runtime and architecture.
 * One layer name may carry an x86_64 and an arm64 build; each compares against, and prunes,
 * only its own versions.
 */
function lineageFilter(request) {
    const runtime = request.compatibleRuntimes[0];
    const architecture = request.compatibleArchitectures[0];
    return {
        ...(runtime ? { CompatibleRuntime: runtime } : {}),
        ...(architecture ? { CompatibleArchitecture: architecture } : {})
    };
}
/** This lineage's newest version, when it has the same bytes, runtimes and architectures. */
async function findUnchangedVersion(lambda, region, request, zip) {
    const context = {
        action: 'lambda:ListLayerVersions',
        resource: `layer ${request.layerName}`,
        region
    };
    const listed = await (0,errors/* awsCall */.uF)(context, async () => {
        try {
            return await lambda.send(new dist_cjs/* ListLayerVersionsCommand */.icq({
                LayerName: request.layerName,
                ...lineageFilter(request),
                MaxItems: 1
            }));
        }
        catch (error) {
            // A layer that was never published has no versions; that is not an error here.
            if ((0,errors/* awsErrorName */.ZH)(error) === 'ResourceNotFoundException')
                return { LayerVersions: [] };
            throw error;
        }
    });
    const newest = listed.LayerVersions?.[0];
    if (newest?.Version === undefined)
        return undefined;
    if (!sameSet(newest.CompatibleRuntimes ?? [], request.compatibleRuntimes) ||
        !sameSet(newest.CompatibleArchitectures ?? [], request.compatibleArchitectures)) {
        return undefined;
    }
    const version = await (0,errors/* awsCall */.uF)({ ...context, action: 'lambda:GetLayerVersion' }, () => lambda.send(new dist_cjs/* GetLayerVersionCommand */.VK5({ LayerName: request.layerName, VersionNumber: newest.Version })));
    if (version.Content?.CodeSha256 !== zip.sha256Base64)
        return undefined;
    return {
        region,
        layerArn: required(version.LayerArn, 'LayerArn'),
        layerVersionArn: required(version.LayerVersionArn, 'LayerVersionArn'),
        version: required(version.Version, 'Version'),
        published: false,
        codeSha256: zip.sha256Base64
    };
}
async function uploadToS3(clients, region, request, zip) {
    const { bucket, key } = s3Location(request, region, zip.sha256Hex);
    core/* info */.pq(`${region}: uploading the zip to s3://${bucket}/${key}`);
    // A Buffer, not a file stream: the SDK resends the same body when it retries a 5xx or a
    // dropped connection, and a stream would be empty the second time.
    const body = await zipBytes(zip);
    await (0,errors/* awsCall */.uF)({ action: 's3:PutObject', resource: `s3://${bucket}/${key}`, region }, () => clients.s3(region).send(new client_s3_dist_cjs/* PutObjectCommand */.wKZ({
        Bucket: bucket,
        Key: key,
        Body: body,
        // S3 verifies a checksum we supply; the SDK then adds no aws-chunked trailer.
        ChecksumSHA256: zip.sha256Base64,
        ContentType: 'application/zip'
    })));
    return { S3Bucket: bucket, S3Key: key };
}
// Read once and shared by every region, so publishing to several regions holds one copy.
const zipContents = new WeakMap();
function zipBytes(zip) {
    let bytes = zipContents.get(zip);
    if (!bytes) {
        bytes = (0,promises_.readFile)(zip.path);
        zipContents.set(zip, bytes);
    }
    return bytes;
}
function sameSet(a, b) {
    const left = new Set(a);
    const right = new Set(b);
    return left.size === right.size && [...left].every(item => right.has(item));
}
function megabytes(bytes) {
    return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
function required(value, field) {
    if (value === undefined)
        throw new Error(`Lambda's response lacks ${field}`);
    return value;
}

;// CONCATENATED MODULE: ./src/share.ts
// Grants other accounts, an organization, or everyone the right to use a layer version.
// Statement ids derive from the principal, so rerunning with the same share-with is harmless,
// and a reused version loses the grants of earlier runs that share-with no longer asks for.



/** Every statement this action adds starts with it; statements added otherwise are left alone. */
const SHARE_STATEMENT_PREFIX = 'layer-share-';
const ACCOUNT = /^\d{12}$/;
const ORGANIZATION = /^o-[a-z0-9]{10,32}$/;
/** Parses share-with entries; any other value is an error naming it and what is accepted. */
function parseShareWith(entries) {
    const grants = new Map();
    for (const raw of entries) {
        const entry = raw.trim();
        if (!entry)
            continue;
        grants.set(entry, shareGrant(entry));
    }
    return [...grants.values()];
}
function shareGrant(entry) {
    if (entry === 'public')
        return { statementId: `${SHARE_STATEMENT_PREFIX}public`, principal: '*' };
    if (ACCOUNT.test(entry))
        return { statementId: `${SHARE_STATEMENT_PREFIX}${entry}`, principal: entry };
    if (ORGANIZATION.test(entry)) {
        return {
            statementId: `${SHARE_STATEMENT_PREFIX}${entry}`,
            principal: '*',
            organizationId: entry
        };
    }
    throw new Error(`share-with: "${entry}" is not a 12-digit account id, an organization id (o-…), or "public"`);
}
/** Adds each grant to one layer version; returns the statement ids now in place. */
async function shareLayerVersion(client, region, layerName, version, grants) {
    const applied = [];
    for (const grant of grants) {
        const context = {
            action: 'lambda:AddLayerVersionPermission',
            resource: `layer ${layerName} version ${version}`,
            region
        };
        await (0,errors/* awsCall */.uF)(context, async () => {
            try {
                await client.send(new dist_cjs/* AddLayerVersionPermissionCommand */.zjw({
                    LayerName: layerName,
                    VersionNumber: version,
                    StatementId: grant.statementId,
                    Action: 'lambda:GetLayerVersion',
                    Principal: grant.principal,
                    OrganizationId: grant.organizationId
                }));
            }
            catch (error) {
                // The statement id already exists: a previous run granted this same principal.
                if ((0,errors/* awsErrorName */.ZH)(error) !== 'ResourceConflictException')
                    throw error;
            }
        });
        applied.push(grant.statementId);
    }
    return applied;
}
// Someone else changing the policy between our read and our removal is retried this often.
const MAX_POLICY_REREADS = 3;
/**
 * Removes this action's statements that `grants` no longer holds from one layer version, so a
 * version once shared with everyone stops being public when share-with drops `public`.
 * Returns the statement ids removed.
 */
async function revokeStaleGrants(client, region, layerName, version, grants) {
    const wanted = new Set(grants.map(grant => grant.statementId));
    const resource = `layer ${layerName} version ${version}`;
    const removed = [];
    let rereads = 0;
    for (;;) {
        const policy = await readPolicy(client, region, layerName, version);
        const stale = policy?.statementIds.find(sid => sid.startsWith(SHARE_STATEMENT_PREFIX) && !wanted.has(sid));
        if (!policy || !stale)
            return removed;
        const outcome = await (0,errors/* awsCall */.uF)({ action: 'lambda:RemoveLayerVersionPermission', resource, region }, async () => {
            try {
                await client.send(new dist_cjs/* RemoveLayerVersionPermissionCommand */.E06({
                    LayerName: layerName,
                    VersionNumber: version,
                    StatementId: stale,
                    RevisionId: policy.revisionId
                }));
                return 'removed';
            }
            catch (error) {
                // The policy changed since the read (412), or the statement is already gone (404).
                const name = (0,errors/* awsErrorName */.ZH)(error);
                const changed = name === 'PreconditionFailedException' || name === 'ResourceNotFoundException';
                if (changed && ++rereads < MAX_POLICY_REREADS)
                    return 'reread';
                throw error;
            }
        });
        if (outcome === 'removed') {
            core/* info */.pq(`${region}: ${layerName} version ${version} no longer grants ${stale}`);
            removed.push(stale);
        }
    }
}
/** The version's policy statement ids and RevisionId; undefined when it has no policy. */
async function readPolicy(client, region, layerName, version) {
    const response = await (0,errors/* awsCall */.uF)({
        action: 'lambda:GetLayerVersionPolicy',
        resource: `layer ${layerName} version ${version}`,
        region
    }, async () => {
        try {
            return await client.send(new dist_cjs/* GetLayerVersionPolicyCommand */.fCq({ LayerName: layerName, VersionNumber: version }));
        }
        catch (error) {
            // A version that was never shared has no policy at all.
            if ((0,errors/* awsErrorName */.ZH)(error) === 'ResourceNotFoundException')
                return undefined;
            throw error;
        }
    });
    if (!response?.Policy)
        return undefined;
    const document = JSON.parse(response.Policy);
    const statements = [document.Statement ?? []].flat();
    return {
        statementIds: statements.flatMap(statement => typeof statement.Sid === 'string' ? [statement.Sid] : []),
        revisionId: response.RevisionId
    };
}

;// CONCATENATED MODULE: ./src/deploy.ts
// The AWS half of the action: in every region at once, publish (or reuse) the layer version,
// share it, move the named functions onto it, then prune old versions. A failure in one
// region or function is recorded and the rest carry on; the caller fails the step at the end.








async function deployLayer(plan, options = {}) {
    const clients = options.clients ?? defaultClients();
    const grants = parseShareWith(plan.shareWith);
    // A region given twice would publish twice and update its functions concurrently.
    const regionList = [...new Set(plan.regions)];
    const placement = placeFunctions(plan.functions, regionList);
    // Hash once; every region uploads the same bytes.
    const zip = await zipFacts(plan.zipPath);
    const settled = await Promise.allSettled(regionList.map(region => deployRegion(region, placement.byRegion.get(region) ?? [], {
        plan,
        options,
        clients,
        grants,
        zip
    })));
    const regions = settled.map((outcome, i) => outcome.status === 'fulfilled'
        ? outcome.value
        : {
            region: regionList[i],
            shared: [],
            functions: [],
            errors: [(0,errors/* errorMessage */.gJ)(outcome.reason)]
        });
    if (placement.unplaced.length) {
        regions.push(...groupUnplaced(placement.unplaced));
    }
    return { regions, failures: failuresOf(regions) };
}
async function deployRegion(region, functions, { plan, options, clients, grants, zip }) {
    const result = { region, shared: [], functions: [], errors: [] };
    const lambda = clients.lambda(region);
    try {
        result.layer = await publishLayer(clients, region, plan, zip);
    }
    catch (error) {
        result.errors.push(`publish: ${(0,errors/* errorMessage */.gJ)(error)}`);
        // Without a version there is nothing to attach; say so per function rather than hide them.
        result.functions = functions.map(name => ({
            function: name,
            region,
            before: [],
            after: [],
            status: 'failed',
            error: 'not attempted: the layer was not published in this region',
            layersUnknown: true
        }));
        return result;
    }
    const layer = result.layer;
    if (grants.length || !layer.published) {
        try {
            // On a reused version too: a rerun with a new share-with entry must still grant it.
            if (grants.length) {
                result.shared = await shareLayerVersion(lambda, region, plan.layerName, layer.version, grants);
            }
            // A new version starts with no policy; a reused one may carry grants share-with dropped.
            if (!layer.published) {
                result.revoked = await revokeStaleGrants(lambda, region, plan.layerName, layer.version, grants);
            }
        }
        catch (error) {
            // Without share-with the role may lack the policy actions; that must not fail the deploy.
            if (!grants.length && (0,errors/* isAccessDenied */.w7)(error)) {
                core/* warning */.$e(`${region}: could not check ${layer.layerVersionArn} for grants of earlier runs to ` +
                    `revoke: ${(0,errors/* errorMessage */.gJ)(error)}`);
            }
            else {
                result.errors.push(`share-with: ${(0,errors/* errorMessage */.gJ)(error)}`);
            }
        }
    }
    const fit = { runtimes: plan.compatibleRuntimes, architectures: plan.compatibleArchitectures };
    result.functions = await (0,concurrency/* mapLimit */.s)(functions, options.functionConcurrency ?? 4, name => attachToFunction(lambda, name, layer.layerVersionArn, fit, { region, waiter: options.waiter }));
    if (plan.keepVersions && plan.keepVersions > 0) {
        try {
            result.cleanup = await cleanupLayerVersions(lambda, region, plan.layerName, {
                keep: plan.keepVersions,
                current: layer.version,
                lineage: lineageFilter(plan),
                ...versionUse(layer.layerArn, result.functions)
            });
        }
        catch (error) {
            result.errors.push(`keep-versions: ${(0,errors/* errorMessage */.gJ)(error)}`);
        }
    }
    return result;
}
/**
 * Which versions of this layer the named functions hold now: the list after the update,
 * or before it when the update failed. A function never read leaves its use unknown.
 */
function versionUse(layerArn, functions) {
    const inUse = new Map();
    const unknown = [];
    for (const fn of functions) {
        const layers = fn.status === 'failed' ? fn.before : fn.after;
        if (fn.layersUnknown)
            unknown.push(fn.function);
        for (const arn of layers) {
            if (layerArnOf(arn) !== layerArn)
                continue;
            const version = Number(arn.slice(arn.lastIndexOf(':') + 1));
            inUse.set(version, [...(inUse.get(version) ?? []), fn.function]);
        }
    }
    if (!unknown.length)
        return { inUse };
    return {
        inUse,
        unknownUse: `not deleted: the layers of ${unknown.join(', ')} could not be read, so this version may be in use`
    };
}
function groupUnplaced(unplaced) {
    const byRegion = new Map();
    for (const fn of unplaced)
        byRegion.set(fn.region, [...(byRegion.get(fn.region) ?? []), fn]);
    return [...byRegion].map(([region, functions]) => ({ region, shared: [], functions, errors: [] }));
}
function failuresOf(regions) {
    return regions.flatMap(region => [
        ...region.errors.map(error => `${region.region}: ${error}`),
        // When publishing failed, the region's error already explains every skipped function.
        ...region.functions
            .filter(fn => fn.status === 'failed' && (region.layer || !region.errors.length))
            .map(fn => `${fn.function} (${fn.region}): ${fn.error ?? 'failed'}`)
    ]);
}
/** The action's outputs, from the first region that has a layer (regions keep input order). */
function deployOutputs(result) {
    const first = result.regions.find(region => region.layer)?.layer;
    const regions = Object.fromEntries(result.regions
        .filter(region => region.layer)
        .map(region => [
        region.region,
        { layerVersionArn: region.layer?.layerVersionArn, published: region.layer?.published }
    ]));
    const multiRegion = new Set(result.regions.map(region => region.region)).size > 1;
    const functions = Object.fromEntries(result.regions.flatMap(region => region.functions.map(fn => [
        // A plain name is attached in each region; the key tells the copies apart.
        multiRegion && !fn.function.startsWith('arn:')
            ? `${fn.region}:${fn.function}`
            : fn.function,
        {
            before: fn.before,
            after: fn.after,
            status: fn.status,
            ...(fn.error ? { error: fn.error } : {})
        }
    ])));
    return {
        'layer-arn': first?.layerArn ?? '',
        'layer-version-arn': first?.layerVersionArn ?? '',
        'layer-version': first ? String(first.version) : '',
        published: String(result.regions.some(region => region.layer?.published)),
        'code-sha256': first?.codeSha256 ?? '',
        regions: JSON.stringify(regions),
        functions: JSON.stringify(functions)
    };
}
/** Logs the per-region outcome; main.ts writes the job summary from the same result. */
function logDeploy(result) {
    for (const region of result.regions) {
        const layer = region.layer;
        if (layer) {
            core/* info */.pq(`${region.region}: ${layer.layerVersionArn} (${layer.published ? 'published' : 'unchanged, reused'})`);
        }
        for (const fn of region.functions)
            core/* info */.pq(`${region.region}: ${fn.function} ${fn.status}`);
        if (region.cleanup?.deleted.length) {
            core/* info */.pq(`${region.region}: deleted versions ${region.cleanup.deleted.join(', ')}`);
        }
    }
}

;// CONCATENATED MODULE: ./src/ship.ts








/**
 * Before the build: the regions to publish to and credentials that resolve, so a missing
 * AWS setup fails in seconds, not after pip.
 */
async function preflight(inputs) {
    const regions = inputs.regions.length > 0 ? inputs.regions : [await defaultRegion()];
    for (const region of regions)
        checkLayerRegion(inputs.layerName, region);
    const [unplaced] = placeFunctions(inputs.functions, regions).unplaced;
    if (unplaced)
        throw new Error(`functions: ${unplaced.error}`);
    try {
        await defaultClients().lambda(regions[0]).config.credentials();
    }
    catch (error) {
        throw new Error((0,errors/* describeAwsError */.Pp)(error, { action: 'lambda:PublishLayerVersion', region: regions[0] }));
    }
    return regions;
}
async function publishAndAttach(inputs, regions, report, source) {
    const result = await deployLayer({
        layerName: inputs.layerName,
        zipPath: report.zip.zipPath,
        description: inputs.description ?? defaultDescription(report, source),
        licenseInfo: inputs.licenseInfo,
        compatibleRuntimes: inputs.compatibleRuntimes,
        compatibleArchitectures: inputs.compatibleArchitectures,
        skipUnchanged: inputs.skipUnchanged,
        s3Bucket: inputs.s3Bucket,
        s3Prefix: inputs.s3Prefix,
        regions,
        functions: inputs.functions,
        shareWith: inputs.shareWith,
        keepVersions: inputs.keepVersions
    });
    for (const [name, value] of Object.entries(deployOutputs(result)))
        core/* setOutput */.uH(name, value);
    logDeploy(result);
    return result;
}
/** What the version was built from, so the console says where a layer came from. */
function defaultDescription(report, source) {
    const text = `${external_node_path_default().basename(source.file)} (deps ${source.identity.slice(0, 12)}), ${report.packages.length} packages, ${report.target.runtime.name} ${report.target.architecture}, by ${facts/* ACTION_NAME */.px}`;
    return text.slice(0, facts/* LIMITS */.b1.descriptionMax);
}
/** The job summary's Markdown for publishing and attaching. */
function deploySummary(result) {
    const lines = ['', '### Published', '', '| region | layer version | |', '|---|---|---|'];
    for (const region of result.regions) {
        const layer = region.layer;
        const what = layer
            ? layer.published
                ? 'new version'
                : 'unchanged, reused'
            : `failed: ${region.errors.join('; ')}`;
        lines.push(`| ${region.region} | ${layer ? `\`${layer.layerVersionArn}\`` : ''} | ${what} |`);
    }
    const functions = result.regions.flatMap(r => r.functions);
    if (functions.length > 0) {
        lines.push('', '### Functions', '', '| function | region | status | layers after |', '|---|---|---|---|');
        for (const fn of functions) {
            const status = fn.status === 'failed' ? `failed: ${fn.error ?? ''}` : fn.status;
            lines.push(`| ${fn.function} | ${fn.region} | ${status} | ${fn.after.map(arn => `\`${arn}\``).join('<br>')} |`);
        }
    }
    const cleanups = result.regions.filter(r => r.cleanup);
    if (cleanups.length > 0) {
        lines.push('', '### Old versions', '');
        for (const region of cleanups) {
            const cleanup = region.cleanup;
            lines.push(`- ${region.region}: deleted ${cleanup.deleted.length ? cleanup.deleted.join(', ') : 'none'}`);
            for (const kept of cleanup.kept)
                lines.push(`  - kept ${kept.version}: ${kept.reason}`);
        }
    }
    return lines.join('\n') + '\n';
}


/***/ })

};
