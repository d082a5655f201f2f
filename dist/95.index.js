export const id = 95;
export const ids = [95];
export const modules = {

/***/ 99095:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  PLAN_ACTIONS: () => (/* binding */ PLAN_ACTIONS),
  compareWithPublished: () => (/* binding */ compareWithPublished),
  defaultDescription: () => (/* binding */ defaultDescription),
  planPreflight: () => (/* binding */ planPreflight),
  preflight: () => (/* binding */ preflight),
  publishAndAttach: () => (/* binding */ publishAndAttach)
});

// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(76760);
var external_node_path_default = /*#__PURE__*/__webpack_require__.n(external_node_path_);
// EXTERNAL MODULE: ./src/facts.ts
var facts = __webpack_require__(632);
// EXTERNAL MODULE: ./src/names.ts
var names = __webpack_require__(46455);
// EXTERNAL MODULE: ./node_modules/@aws-sdk/client-lambda/dist-cjs/index.js
var dist_cjs = __webpack_require__(71696);
// EXTERNAL MODULE: ./node_modules/@actions/core/lib/core.js + 7 modules
var core = __webpack_require__(33838);
// EXTERNAL MODULE: ./src/errors.ts
var errors = __webpack_require__(83916);
;// CONCATENATED MODULE: ./src/aws/errors.ts
// The one place that turns AWS SDK errors into messages a user can act on. Every AWS call
// site passes the IAM action it needed, so AccessDenied can name what the role lacks.

/** An AWS call that failed, with the SDK's error kept as `cause` for retry decisions. */
class AwsCallError extends Error {
    awsName;
    constructor(message, cause) {
        super(message, { cause });
        this.name = 'AwsCallError';
        this.awsName = awsErrorName(cause);
    }
}
/** The SDK's error name ('AccessDeniedException'), looking through an AwsCallError. */
function awsErrorName(error) {
    if (error instanceof AwsCallError)
        return error.awsName;
    if (typeof error === 'object' && error !== null) {
        const named = error;
        for (const key of [named.name, named.Code, named.code]) {
            if (typeof key === 'string' && key !== 'Error')
                return key;
        }
    }
    return '';
}
/** Runs one AWS call and rethrows its failure as an actionable AwsCallError. */
async function awsCall(context, call) {
    try {
        return await call();
    }
    catch (error) {
        if (error instanceof AwsCallError)
            throw error;
        throw new AwsCallError(describeAwsError(error, context), error);
    }
}
const THROTTLING = new Set([
    'TooManyRequestsException',
    'ThrottlingException',
    'Throttling',
    'SlowDown',
    'RequestLimitExceeded'
]);
const NETWORK = new Set([
    'ECONNREFUSED',
    'ECONNRESET',
    'EPIPE',
    'ETIMEDOUT',
    'ENOTFOUND',
    'EAI_AGAIN',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'TimeoutError'
]);
function describeAwsError(error, context) {
    if (error instanceof AwsCallError)
        return error.message;
    const name = awsErrorName(error);
    const message = (0,errors/* errorMessage */.g)(error);
    const where = context.region ? ` in ${context.region}` : '';
    const about = context.resource ? ` for ${context.resource}` : '';
    const said = message ? ` AWS said: ${message}` : '';
    const status = httpStatus(error);
    const attempts = attemptCount(error);
    if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message)) {
        return ('No AWS credentials were found. Add an aws-actions/configure-aws-credentials step ' +
            '(OIDC: role-to-assume, and `permissions: id-token: write`) before this action, ' +
            'or set `publish: false` to build the layer without publishing it.');
    }
    if (/region is missing/i.test(message)) {
        return ('No AWS region is configured. Set the `regions` input, or `aws-region` on ' +
            'aws-actions/configure-aws-credentials (which sets AWS_REGION).');
    }
    if (isCredentialProblem(name)) {
        return (`AWS rejected the credentials (${name}) calling ${context.action}${where}: they are missing, ` +
            'invalid or expired. Check the aws-actions/configure-aws-credentials step.' +
            said);
    }
    const denied = isAccessDenied(error) || status === 403 ? deniedAction(message) : undefined;
    if (denied || isAccessDenied(error)) {
        // Lambda may deny a call for another action than the one made: UpdateFunctionConfiguration
        // fails when the role lacks lambda:GetLayerVersion on one of the layers.
        const resource = context.resource ? ` on ${context.resource}` : '';
        if (denied && denied.action !== context.action) {
            return `Access denied${where}: the role needs \`${denied.action}\` on ${denied.resource} (to call ${context.action}${resource}). Add it to the role's IAM policy.${said}`;
        }
        return `Access denied${where}: the role needs \`${context.action}\`${resource}. Add it to the role's IAM policy.${said}`;
    }
    if (name === 'ResourceNotFoundException' || name === 'NoSuchBucket') {
        const what = context.resource ?? 'The resource';
        return `${what} was not found${where}: check the name and the region (${context.action}).${said}`;
    }
    if (name === 'RequestEntityTooLargeException' || status === 413) {
        return (`The layer zip is too large for a direct upload${where}: set the \`s3-bucket\` input ` +
            'so the zip goes through S3.' +
            said);
    }
    if (name === 'InvalidParameterValueException' || name === 'ValidationException') {
        return `${context.action}${about}${where} rejected a parameter.${said}`;
    }
    if (name === 'CodeStorageExceededException') {
        return (`Lambda code storage is full${where}: delete old layer versions (set \`keep-versions\`) ` +
            `or ask AWS for more storage.${said}`);
    }
    if (name === 'ResourceConflictException') {
        return `${context.resource ?? 'The resource'}${where} is being changed by someone else; it stayed busy while this action waited.${said}`;
    }
    if (name === 'PreconditionFailedException') {
        return `${context.resource ?? 'The resource'}${where} kept changing between reading and updating it; nothing was changed.${said}`;
    }
    if (name === 'PermanentRedirect' ||
        name === 'AuthorizationHeaderMalformed' ||
        name === 'IllegalLocationConstraintException') {
        return `The S3 bucket${about} is not in ${context.region ?? 'this region'}: Lambda reads layer zips only from a bucket in the same region (use \`{region}\` in \`s3-bucket\`).${said}`;
    }
    if (THROTTLING.has(name) || status === 429) {
        return `AWS kept throttling ${context.action}${where}${retried(attempts)}. Try again later, or publish to fewer regions in one job.${said}`;
    }
    if (status !== undefined && status >= 500) {
        return `AWS failed with HTTP ${status} on ${context.action}${about}${where}${retried(attempts)}. Try again later.${said}`;
    }
    if (NETWORK.has(name) || NETWORK.has(errorCode(error))) {
        return `Could not reach AWS for ${context.action}${where}${retried(attempts)} (${errorCode(error) || name}). Check the network and any AWS_ENDPOINT_URL_* setting.`;
    }
    if (status === 403) {
        return `AWS refused ${context.action}${about}${where} (HTTP 403${name ? `, ${name}` : ''}).${said}`;
    }
    const label = name ? `${name}: ` : '';
    return `${context.action}${about}${where} failed: ${label}${message}`;
}
/** AccessDenied by name: Lambda's AccessDeniedException, S3's AccessDenied (Forbidden without a body). */
function isAccessDenied(error) {
    const name = awsErrorName(error);
    return name === 'AccessDeniedException' || name === 'AccessDenied' || name === 'Forbidden';
}
/** The action and resource IAM refused, from AWS's "not authorized to perform: … on resource: …". */
function deniedAction(message) {
    const match = /not authorized to perform: (\S+) on resource: (\S+)/.exec(message);
    return match ? { action: match[1], resource: match[2].replace(/[.,;]$/, '') } : undefined;
}
function isCredentialProblem(name) {
    return [
        'MissingAuthenticationTokenException',
        'MissingAuthenticationToken',
        'IncompleteSignatureException',
        'UnrecognizedClientException',
        'InvalidSignatureException',
        'ExpiredTokenException',
        'ExpiredToken',
        'InvalidClientTokenId',
        'InvalidAccessKeyId',
        'InvalidToken',
        'SignatureDoesNotMatch'
    ].includes(name);
}
function httpStatus(error) {
    const metadata = error?.$metadata;
    return metadata?.httpStatusCode;
}
function attemptCount(error) {
    const metadata = error?.$metadata;
    return metadata?.attempts;
}
function errorCode(error) {
    const code = error?.code;
    return typeof code === 'string' ? code : '';
}
function retried(attempts) {
    return attempts && attempts > 1 ? ` after ${attempts} attempts` : '';
}

;// CONCATENATED MODULE: ./src/aws/attach.ts
// Moves a function onto the new layer version without disturbing its other layers: the
// only write is one UpdateFunctionConfiguration carrying the whole planned list, guarded by
// the RevisionId just read, and it is followed by the SDK's waiter until Lambda settles.






// Most updates settle in seconds; functions in a VPC can take minutes.
const DEFAULT_WAITER = { maxWaitTime: 600, minDelay: 1, maxDelay: 15 };
/**
 * The function's new layer list: the entry of the same layer (same ARN without the
 * version: a whole-name match, so `my-layer` never matches `my-layer-2`) is replaced in
 * place, keeping the order Lambda merges layers in; otherwise the layer is appended.
 */
function planLayers(current, layerVersionArn, functionName = 'the function') {
    const layer = (0,names/* layerArnOf */.s3)(layerVersionArn);
    const index = current.findIndex(arn => (0,names/* layerArnOf */.s3)(arn) === layer);
    const planned = index === -1
        ? [...current, layerVersionArn]
        : current
            .map((arn, i) => (i === index ? layerVersionArn : arn))
            .filter((arn, i) => i === index || (0,names/* layerArnOf */.s3)(arn) !== layer);
    if (planned.length > facts/* LIMITS */.b1.layersPerFunction) {
        throw new Error(`${functionName} already has ${current.length} layers (${current.join(', ')}); adding ` +
            `${layer} would exceed Lambda's limit of ${facts/* LIMITS */.b1.layersPerFunction}. Remove a layer ` +
            'from the function (or merge two), then rerun.');
    }
    return planned;
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
        // discovery happens per region, once the layer's ARN is known (deploy.ts)
        if (name === names/* EVERY_USER_OF_THE_LAYER */.MD)
            continue;
        const ref = (0,names/* parseFunctionRef */.r$)(name);
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
    // The list our last update replaced. Once one was sent, a read showing the planned list
    // means it took effect, though its response was lost and the SDK's resend met a 409 or 412.
    let replaced;
    let planned = [];
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
            const current = layerArns(config);
            before = replaced ?? current;
            checkFit(functionName, config, fit);
            planned = planLayers(current, layerVersionArn, functionName);
            // After a failed update the list may read as planned without being in effect: resend it.
            const lastFailed = config.LastUpdateStatus === 'Failed';
            if (sameList(current, planned) && !lastFailed) {
                return result(replaced ? 'updated' : 'unchanged', planned);
            }
            before = current;
            if (lastFailed) {
                const why = config.LastUpdateStatusReason ?? 'no reason given';
                core/* info */.pq(`${region}: ${functionName}'s last update failed; sending its layers again. ${why}`);
            }
            replaced = current;
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
                const name = awsErrorName(error);
                const retryable = name === 'ResourceConflictException' || name === 'PreconditionFailedException';
                if (retryable && attempt < maxAttempts) {
                    core/* info */.pq(`${region}: ${functionName} changed under us (${name}); reading it again`);
                    continue;
                }
                throw new AwsCallError(describeAwsError(error, {
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
            const after = layerArns(settled);
            core/* info */.pq(`${region}: ${functionName} now uses ${layerVersionArn}`);
            return result('updated', settled.Layers ? after : planned);
        }
    }
    catch (error) {
        // An update was sent and the last try met a 409 or 412: Lambda may have applied it all the
        // same (a lost response whose resend met the new RevisionId). Say what the function holds.
        const conflict = ['ResourceConflictException', 'PreconditionFailedException'];
        if (replaced &&
            conflict.includes(awsErrorName(error)) &&
            (await holdsSettled(client, functionName, planned))) {
            before = replaced;
            return result('updated', planned);
        }
        return result('failed', before ?? [], (0,errors/* errorMessage */.g)(error));
    }
}
/** True when the function's layers are `planned` and its last update did not fail. */
async function holdsSettled(client, functionName, planned) {
    const config = await client
        .send(new dist_cjs/* GetFunctionConfigurationCommand */.qA6({ FunctionName: functionName }))
        .catch(() => undefined);
    return (config !== undefined &&
        config.LastUpdateStatus === 'Successful' &&
        sameList(layerArns(config), planned));
}
/** The function's layer version ARNs as Lambda holds them now. */
async function readLayerArns(client, functionName, region) {
    const config = await awsCall({
        action: 'lambda:GetFunctionConfiguration',
        resource: `function ${functionName}`,
        region
    }, () => client.send(new dist_cjs/* GetFunctionConfigurationCommand */.qA6({ FunctionName: functionName })));
    return layerArns(config);
}
function layerArns(config) {
    return (config.Layers ?? []).flatMap(layer => (layer.Arn ? [layer.Arn] : []));
}
/** The function's configuration once no creation or update is running on it. */
async function readSettled(client, functionName, region, waiter) {
    const config = await awsCall({
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
            if (awsErrorName(error) === 'ResourceNotFoundException' || isAccessDenied(error)) {
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
        throw new AwsCallError(describeAwsError(fatal, context), fatal);
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

// EXTERNAL MODULE: ./node_modules/@aws-sdk/client-s3/dist-cjs/index.js
var client_s3_dist_cjs = __webpack_require__(53711);
;// CONCATENATED MODULE: ./src/aws/clients.ts
// AWS clients, created once per region. Credentials, region and endpoints come only from the
// SDK's default chain (env, profile, OIDC via aws-actions/configure-aws-credentials), and
// AWS_ENDPOINT_URL_LAMBDA / AWS_ENDPOINT_URL_S3 (/ AWS_ENDPOINT_URL_SSM) point the action at a
// local Lambda API.




/** Kept equal to package.json's version by a test; a JSON import would complicate the bundle. */
const ACTION_VERSION = '1.0.0';
// Throttling, 5xx and dropped connections are retried by the SDK's standard strategy; five
// attempts ride out a burst of TooManyRequestsException across concurrent regions.
const MAX_ATTEMPTS = 5;
function awsClients(settings = {}, env = process.env) {
    const lambdas = new Map();
    const buckets = new Map();
    const parameterStores = new Map();
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
        },
        ssm(region) {
            let client = parameterStores.get(region);
            if (!client) {
                // AWS_ENDPOINT_URL_SSM is read by the SDK itself, like AWS_ENDPOINT_URL_LAMBDA.
                client = __webpack_require__.e(/* import() */ 736).then(__webpack_require__.t.bind(__webpack_require__, 34736, 19)).then(({ SSMClient }) => new SSMClient({ ...common, region }));
                parameterStores.set(region, client);
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
    throw new Error(describeAwsError(new Error('Region is missing'), { action: 'resolve the AWS region' }));
}

;// CONCATENATED MODULE: ./src/aws/lineage.ts
// One layer name may carry several builds: python3.12 and python3.13 jobs, x86_64 and arm64
// jobs, one job that widened compatible-runtimes. A build's lineage is the versions it would
// have published itself: listed under its own target runtime and architecture, and recording
// exactly the runtimes and architectures it records. skip-unchanged reuses, and keep-versions
// deletes, only versions of the lineage; any other version belongs to another build.


/**
 * ListLayerVersions filters: the target's runtime and architecture. Lambda lists a version
 * under a filter when it records that runtime or architecture among others, so the filter
 * only narrows the list; `isOfLineage` decides. A build that leaves its own runtime out of
 * compatible-runtimes is filtered by the first one it records.
 */
function lineageFilter(lineage) {
    const { runtime, architecture } = lineage.target;
    const filterRuntime = lineage.compatibleRuntimes.includes(runtime.name)
        ? runtime.name
        : lineage.compatibleRuntimes[0];
    const filterArchitecture = lineage.compatibleArchitectures.includes(architecture)
        ? architecture
        : lineage.compatibleArchitectures[0];
    return {
        ...(filterRuntime ? { CompatibleRuntime: filterRuntime } : {}),
        ...(filterArchitecture ? { CompatibleArchitecture: filterArchitecture } : {})
    };
}
/**
 * Of this lineage: the version records the same set of runtimes and of architectures as this
 * build does. A version another job widened (python3.12, python3.13) is never this python3.13
 * job's, even though python3.13 functions may use it.
 */
function isOfLineage(item, lineage) {
    return (sameSet(item.CompatibleRuntimes ?? [], lineage.compatibleRuntimes) &&
        sameSet(item.CompatibleArchitectures ?? [], lineage.compatibleArchitectures));
}
/** Why a listed version is not this build's to reuse or delete. */
function otherLineageReason(version) {
    const runtimes = version.compatibleRuntimes.join(', ') || 'no runtime';
    const architectures = version.compatibleArchitectures.join(', ') || 'no architecture';
    return `published for ${runtimes} on ${architectures} (another build's lineage)`;
}
/**
 * Versions listed under the lineage's filter, newest first, following ListLayerVersions'
 * Marker paging; a layer never published lists nothing. `until` stops the paging early.
 */
async function listLineage(client, layerName, lineage, until = () => false) {
    const listed = [];
    try {
        for await (const page of (0,dist_cjs/* paginateListLayerVersions */.Y9l)({ client, pageSize: 50 }, { LayerName: layerName, ...lineageFilter(lineage) })) {
            for (const item of page.LayerVersions ?? []) {
                if (item.Version === undefined)
                    continue;
                const version = {
                    version: item.Version,
                    ours: isOfLineage(item, lineage),
                    compatibleRuntimes: item.CompatibleRuntimes ?? [],
                    compatibleArchitectures: item.CompatibleArchitectures ?? []
                };
                listed.push(version);
                if (until(version))
                    return listed;
            }
        }
    }
    catch (error) {
        if (awsErrorName(error) !== 'ResourceNotFoundException')
            throw error;
    }
    return listed;
}
function sameSet(a, b) {
    const left = new Set(a);
    const right = new Set(b);
    return left.size === right.size && [...left].every(item => right.has(item));
}

;// CONCATENATED MODULE: ./src/aws/cleanup.ts
// keep-versions: deletes versions of this build's lineage (lineage.ts) older than the newest N.
// A version that the run just published (or reused), that a named function still uses, or that
// another build published is kept, with the reason, because deleting it breaks the next deploy
// that references it. The named functions are read again right before each delete: another
// deploy may have moved one onto an old version since the list was made.





/** Which versions to delete and which to keep (newest first), and why each is kept. */
function planCleanup(input) {
    const newestFirst = [...new Map(input.versions.map(v => [v.version, v])).values()].sort((a, b) => b.version - a.version);
    const result = { deleted: [], kept: [] };
    let ours = 0;
    for (const listed of newestFirst) {
        const { version } = listed;
        const users = input.inUse.get(version);
        // Only this lineage's versions count towards the newest N.
        const rank = listed.ours ? ours++ : -1;
        if (version === input.current) {
            result.kept.push({ version, reason: 'the version this run published or reused' });
        }
        else if (!listed.ours) {
            result.kept.push({ version, reason: otherLineageReason(listed) });
        }
        else if (rank < input.keep) {
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
    }
    return result;
}
async function cleanupLayerVersions(client, region, layerName, { lineage, useNow, ...plan }) {
    const versions = await awsCall({ action: 'lambda:ListLayerVersions', resource: `layer ${layerName}`, region }, () => listLineage(client, layerName, lineage));
    const planned = planCleanup({ ...plan, versions });
    const result = { deleted: [], kept: [...planned.kept] };
    const pending = [...planned.deleted];
    for (let version = pending.shift(); version !== undefined; version = pending.shift()) {
        const now = await useNow();
        const users = now.inUse.get(version);
        if (users?.length || now.unknownUse) {
            const reason = users?.length
                ? `now used by ${users.join(', ')} (read again before deleting)`
                : now.unknownUse;
            result.kept.push({ version, reason });
            core/* info */.pq(`${region}: kept ${layerName} version ${version}: ${reason}`);
            continue;
        }
        try {
            await awsCall({
                action: 'lambda:DeleteLayerVersion',
                resource: `layer ${layerName} version ${version}`,
                region
            }, () => client.send(new dist_cjs/* DeleteLayerVersionCommand */.KnR({ LayerName: layerName, VersionNumber: version })));
        }
        catch (error) {
            // What was deleted so far still shows in the summary; the rest is kept, saying why.
            result.error = (0,errors/* errorMessage */.g)(error);
            result.kept.push({ version, reason: 'the delete failed' });
            for (const rest of pending) {
                result.kept.push({
                    version: rest,
                    reason: `not tried after the delete of ${version} failed`
                });
            }
            break;
        }
        result.deleted.push(version);
        core/* info */.pq(`${region}: deleted ${layerName} version ${version}`);
    }
    result.kept.sort((a, b) => b.version - a.version);
    return result;
}

// EXTERNAL MODULE: ./src/concurrency.ts
var src_concurrency = __webpack_require__(81532);
;// CONCATENATED MODULE: ./src/aws/discover.ts
// `functions: *`: every function of a region that uses any version of this layer now, found
// with ListFunctions (paginated). Those the layer cannot serve are listed and left alone.




/** The functions holding a version of `layerArn`, apart from those already named. */
async function discoverLayerUsers(client, region, layerArn, fit, named) {
    const users = [];
    try {
        for await (const page of (0,dist_cjs/* paginateListFunctions */.fVs)({ client, pageSize: 50 }, {})) {
            for (const config of page.Functions ?? []) {
                const layers = layerArns(config);
                if (layers.some(arn => (0,names/* layerArnOf */.s3)(arn) === layerArn))
                    users.push(config);
            }
        }
    }
    catch (error) {
        throw new AwsCallError(describeAwsError(error, { action: 'lambda:ListFunctions', region }), error);
    }
    const found = { fit: [], unfit: [] };
    for (const config of users) {
        const name = config.FunctionName ?? '';
        if (!name || named.has(name))
            continue;
        try {
            checkFit(name, config, fit);
            found.fit.push(name);
        }
        catch (error) {
            const layers = layerArns(config);
            found.unfit.push({
                function: name,
                region,
                before: layers,
                after: layers,
                status: 'skipped',
                error: error.message.replace(/ Build a layer .*$/, ''),
                discovered: true
            });
        }
    }
    return found;
}

;// CONCATENATED MODULE: ./src/aws/release.ts
// Production moves only after the new layer proved itself: $LATEST takes the layer (attach.ts),
// a function version freezes exactly that, a smoke test invokes it, and only then does the
// alias move. A failed smoke test puts $LATEST's previous layer list back and leaves the alias.





// Lambda gives init 10 s of its own; the rest covers the network. Past this the smoke test
// counts as timed out even when Lambda never answers.
const INVOKE_GRACE_SECONDS = 40;
/**
 * The function's layers updated as attachToFunction does; then, with an alias, a version
 * published and checked to hold the layers asked for; a smoke test on it (or on $LATEST);
 * then the alias moved. Any failure after the update leaves the alias where it was.
 */
async function releaseFunction(client, ref, layerVersionArn, fit, options) {
    const attached = await attachToFunction(client, ref.unqualified, layerVersionArn, fit, options);
    const result = { ...attached, function: ref.name };
    if (attached.status === 'failed' || (!ref.alias && options.smokePayload === undefined)) {
        return result;
    }
    const release = {};
    result.release = release;
    const fail = (error) => ({ ...result, status: 'failed', error });
    try {
        let qualifier = '$LATEST';
        if (ref.alias) {
            release.alias = { name: ref.alias, moved: false };
            release.version = await publishVersion(client, ref.unqualified, attached.after, options);
            qualifier = release.version;
        }
        if (options.smokePayload !== undefined) {
            const smoke = await smokeTest(client, ref.unqualified, qualifier, options);
            release.smoke = smoke;
            if (!smoke.passed) {
                const why = `smoke test failed: ${smoke.errorType}: ${smoke.errorMessage}`;
                if (attached.status === 'updated') {
                    try {
                        await restoreLayers(client, ref.unqualified, attached.before, attached.after, options);
                    }
                    catch (error) {
                        return fail(`${why}. ${(0,errors/* errorMessage */.g)(error)}` +
                            (ref.alias ? ` Alias ${ref.alias} was not moved.` : ''));
                    }
                    release.rolledBack = true;
                    result.after = attached.before;
                    return fail(`${why}. Its previous layers are back` +
                        (ref.alias ? `; alias ${ref.alias} was not moved.` : '.'));
                }
                return fail(`${why}. It already had these layers, so there was nothing to restore` +
                    (ref.alias ? `; alias ${ref.alias} was not moved.` : '.'));
            }
        }
        if (ref.alias && release.version && release.alias) {
            Object.assign(release.alias, await pointAlias(client, ref.unqualified, ref.alias, release.version, options.region));
        }
        return result;
    }
    catch (error) {
        return fail((0,errors/* errorMessage */.g)(error));
    }
}
/**
 * PublishVersion guarded by the RevisionId and CodeSha256 of the $LATEST just checked to hold
 * `layers`; the version Lambda answers with is checked too, so an alias never moves to a
 * version with other layers (someone else's update between our read and the publish).
 */
async function publishVersion(client, functionName, layers, options) {
    const { region } = options;
    const config = await readSettled(client, functionName, region, options.waiter ?? DEFAULT_WAITER);
    if (!sameList(layerArns(config), layers)) {
        throw new Error(`its layers changed after the update (now ${listOf(layerArns(config))}), so no version was published and the alias was not moved.`);
    }
    const published = await awsCall({ action: 'lambda:PublishVersion', resource: `function ${functionName}`, region }, () => client.send(new dist_cjs/* PublishVersionCommand */.D3m({
        FunctionName: functionName,
        RevisionId: config.RevisionId,
        CodeSha256: config.CodeSha256
    })));
    const version = published.Version ?? '';
    const held = layerArns(published);
    if (!sameList(held, layers)) {
        throw new Error(`version ${version} holds ${listOf(held)}, not the layers asked for (${listOf(layers)}); the alias was not moved.`);
    }
    core/* info */.pq(`${region}: ${functionName} version ${version} published`);
    return version;
}
/** One RequestResponse invocation; a function error, an init error or no answer in time fails it. */
async function smokeTest(client, functionName, qualifier, options) {
    const config = await awsCall({
        action: 'lambda:GetFunctionConfiguration',
        resource: `function ${functionName}:${qualifier}`,
        region: options.region
    }, () => client.send(new dist_cjs/* GetFunctionConfigurationCommand */.qA6({ FunctionName: functionName, Qualifier: qualifier })));
    const limit = (config.Timeout ?? 900) + INVOKE_GRACE_SECONDS;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), limit * 1000);
    const started = Date.now();
    const done = (passed, errorType, message) => ({
        passed,
        qualifier,
        durationMs: Date.now() - started,
        ...(errorType === undefined ? {} : { errorType, errorMessage: message ?? '' })
    });
    try {
        const out = await client.send(new dist_cjs/* InvokeCommand */.mdN({
            FunctionName: functionName,
            Qualifier: qualifier,
            InvocationType: 'RequestResponse',
            Payload: Buffer.from(options.smokePayload ?? '{}')
        }), { abortSignal: abort.signal });
        if (!out.FunctionError)
            return done(true);
        const document = parseErrorDocument(out.Payload);
        return done(false, document.errorType ?? out.FunctionError, document.errorMessage);
    }
    catch (error) {
        if (abort.signal.aborted) {
            return done(false, 'Timeout', `no answer within ${limit} s`);
        }
        throw new AwsCallError(describeAwsError(error, {
            action: 'lambda:InvokeFunction',
            resource: `function ${functionName}:${qualifier}`,
            region: options.region
        }), error);
    }
    finally {
        clearTimeout(timer);
    }
}
function parseErrorDocument(payload) {
    try {
        const parsed = JSON.parse(Buffer.from(payload ?? []).toString('utf8'));
        if (typeof parsed === 'object' && parsed !== null) {
            const { errorType, errorMessage } = parsed;
            return {
                ...(typeof errorType === 'string' ? { errorType } : {}),
                ...(typeof errorMessage === 'string' ? { errorMessage } : {})
            };
        }
    }
    catch {
        // Not JSON: the type alone says enough.
    }
    return {};
}
/**
 * Puts `before` back, compare-and-set: only while the function still holds what this run set
 * (`ours`), each write guarded by the RevisionId just read and followed by the waiter. A lost
 * response, whose resend meets a 412, ends in a re-read that finds `before` in place.
 */
async function restoreLayers(client, functionName, before, ours, options) {
    const { region } = options;
    const waiter = options.waiter ?? DEFAULT_WAITER;
    const maxAttempts = options.maxAttempts ?? 4;
    let lastError;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        const config = await readSettled(client, functionName, region, waiter);
        const current = layerArns(config);
        if (sameList(current, before) && config.LastUpdateStatus !== 'Failed') {
            core/* info */.pq(`${region}: ${functionName} is back on ${listOf(before)}`);
            return;
        }
        if (!sameList(current, ours)) {
            throw new Error(`Its layers were changed by someone else after the update (now ${listOf(current)}), so they were not restored to ${listOf(before)}.`);
        }
        try {
            await client.send(new dist_cjs/* UpdateFunctionConfigurationCommand */.Zlw({
                FunctionName: functionName,
                Layers: [...before],
                RevisionId: config.RevisionId
            }));
            await waitForUpdate(client, functionName, region, waiter);
        }
        catch (error) {
            // 409/412, or no response at all: whether it took effect is read again above.
            lastError = error;
            core/* info */.pq(`${region}: restoring ${functionName}'s layers met ${awsErrorName(error) || (0,errors/* errorMessage */.g)(error)}; reading it again`);
        }
    }
    throw new Error(`Its previous layers (${listOf(before)}) could not be restored: ` +
        describeAwsError(lastError, {
            action: 'lambda:UpdateFunctionConfiguration',
            resource: `function ${functionName}`,
            region
        }));
}
/**
 * The alias moved to `version` with UpdateAlias guarded by its RevisionId (created when it
 * does not exist yet). A lost response whose resend meets a 412 is read again.
 */
async function pointAlias(client, functionName, alias, version, region) {
    const context = (action) => ({
        action,
        resource: `alias ${functionName}:${alias}`,
        region
    });
    let current;
    try {
        current = await client.send(new dist_cjs/* GetAliasCommand */.MES({ FunctionName: functionName, Name: alias }));
    }
    catch (error) {
        if (awsErrorName(error) !== 'ResourceNotFoundException') {
            throw new AwsCallError(describeAwsError(error, context('lambda:GetAlias')), error);
        }
    }
    if (!current) {
        await awsCall(context('lambda:CreateAlias'), () => client.send(new dist_cjs/* CreateAliasCommand */.W_e({
            FunctionName: functionName,
            Name: alias,
            FunctionVersion: version
        })));
        core/* info */.pq(`${region}: alias ${functionName}:${alias} created on version ${version}`);
        return { name: alias, to: version, moved: true };
    }
    const from = current.FunctionVersion;
    if (from === version)
        return { name: alias, from, to: version, moved: false };
    try {
        await client.send(new dist_cjs/* UpdateAliasCommand */.lqC({
            FunctionName: functionName,
            Name: alias,
            FunctionVersion: version,
            RevisionId: current.RevisionId
        }));
    }
    catch (error) {
        const now = await client
            .send(new dist_cjs/* GetAliasCommand */.MES({ FunctionName: functionName, Name: alias }))
            .catch(() => undefined);
        if (now?.FunctionVersion !== version) {
            throw new AwsCallError(describeAwsError(error, context('lambda:UpdateAlias')), error);
        }
    }
    core/* info */.pq(`${region}: alias ${functionName}:${alias} moved from version ${from} to ${version}`);
    return { name: alias, from, to: version, moved: true };
}
function listOf(layers) {
    return layers.length ? layers.join(', ') : 'no layers';
}

// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __webpack_require__(51455);
;// CONCATENATED MODULE: ./src/aws/publish.ts
// Publishes the layer zip as a new layer version in one region, or reuses the newest version
// of the build's lineage (lineage.ts) when it already holds the same bytes.








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
        key: `${request.s3Prefix ?? ''}${(0,names/* layerBaseName */.mg)(request.layerName)}/${sha256Hex}.zip`
    };
}
async function publishLayer(clients, region, request) {
    (0,names/* checkLayerRegion */.WU)(request.layerName, region);
    const zip = request.zip;
    const upload = planUpload(zip.zipSize, request.s3Bucket, request.directUploadLimit);
    const lambda = clients.lambda(region);
    if (request.skipUnchanged) {
        const existing = await findUnchangedVersion(lambda, region, request);
        if (existing) {
            core/* info */.pq(`${region}: ${existing.layerVersionArn} already holds this zip; not publishing`);
            return existing;
        }
    }
    const content = upload === 's3' ? await uploadToS3(clients, region, request) : { ZipFile: await zipBytes(zip) };
    const response = await awsCall({ action: 'lambda:PublishLayerVersion', resource: `layer ${request.layerName}`, region }, () => lambda.send(new dist_cjs/* PublishLayerVersionCommand */.cl_({
        LayerName: request.layerName,
        Description: request.description || undefined,
        LicenseInfo: request.licenseInfo || undefined,
        CompatibleRuntimes: request.compatibleRuntimes,
        CompatibleArchitectures: request.compatibleArchitectures,
        Content: content
    })));
    // Lambda hashes what it stored: a mismatch means the bytes changed on the way (or in S3).
    const stored = response.Content?.CodeSha256;
    if (stored && stored !== zip.codeSha256) {
        throw new Error(`${region}: Lambda stored ${response.LayerVersionArn} with CodeSha256 ${stored}, but the zip's ` +
            `is ${zip.codeSha256}; the upload was altered. Delete that version and rerun.`);
    }
    core/* info */.pq(`${region}: published ${response.LayerVersionArn}`);
    return {
        region,
        layerArn: required(response.LayerArn, 'LayerArn'),
        layerVersionArn: required(response.LayerVersionArn, 'LayerVersionArn'),
        version: required(response.Version, 'Version'),
        published: true,
        codeSha256: stored ?? zip.codeSha256
    };
}
/** This lineage's newest version, when it holds the same bytes. */
async function findUnchangedVersion(lambda, region, request) {
    const zip = request.zip;
    const context = {
        action: 'lambda:ListLayerVersions',
        resource: `layer ${request.layerName}`,
        region
    };
    const listed = await awsCall(context, () => listLineage(lambda, request.layerName, request, version => version.ours));
    const newest = listed.find(version => version.ours);
    if (!newest)
        return undefined;
    const version = await awsCall({ ...context, action: 'lambda:GetLayerVersion' }, () => lambda.send(new dist_cjs/* GetLayerVersionCommand */.VK5({ LayerName: request.layerName, VersionNumber: newest.version })));
    if (version.Content?.CodeSha256 !== zip.codeSha256)
        return undefined;
    return {
        region,
        layerArn: required(version.LayerArn, 'LayerArn'),
        layerVersionArn: required(version.LayerVersionArn, 'LayerVersionArn'),
        version: required(version.Version, 'Version'),
        published: false,
        codeSha256: zip.codeSha256
    };
}
async function uploadToS3(clients, region, request) {
    const zip = request.zip;
    const { bucket, key } = s3Location(request, region, zip.sha256Hex);
    core/* info */.pq(`${region}: uploading the zip to s3://${bucket}/${key}`);
    // A Buffer, not a file stream: the SDK resends the same body when it retries a 5xx or a
    // dropped connection, and a stream would be empty the second time.
    const body = await zipBytes(zip);
    await awsCall({ action: 's3:PutObject', resource: `s3://${bucket}/${key}`, region }, () => clients.s3(region).send(new client_s3_dist_cjs/* PutObjectCommand */.wKZ({
        Bucket: bucket,
        Key: key,
        Body: body,
        // S3 verifies a checksum we supply; the SDK then adds no aws-chunked trailer.
        ChecksumSHA256: zip.codeSha256,
        ContentType: 'application/zip'
    })));
    return { S3Bucket: bucket, S3Key: key };
}
// Read once and shared by every region, so publishing to several regions holds one copy.
const zipContents = new WeakMap();
function zipBytes(zip) {
    let bytes = zipContents.get(zip);
    if (!bytes) {
        bytes = (0,promises_.readFile)(zip.zipPath);
        zipContents.set(zip, bytes);
    }
    return bytes;
}
function megabytes(bytes) {
    return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
function required(value, field) {
    if (value === undefined)
        throw new Error(`Lambda's response lacks ${field}`);
    return value;
}

;// CONCATENATED MODULE: ./src/aws/share.ts
// Grants other accounts, an organization, or everyone the right to use a layer version.
// Statement ids derive from the principal, so rerunning with the same share-with is harmless,
// and a reused version loses the grants of earlier runs that share-with no longer asks for.




/** Parses share-with entries (validated by inputs.ts through the same rule), once each. */
function parseShareWith(entries) {
    const grants = new Map();
    for (const raw of entries) {
        const entry = raw.trim();
        if (entry)
            grants.set(entry, (0,names/* parseSharePrincipal */.vU)(entry));
    }
    return [...grants.values()];
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
        await awsCall(context, async () => {
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
                if (awsErrorName(error) !== 'ResourceConflictException')
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
        const stale = policy?.statementIds.find(sid => sid.startsWith(names/* SHARE_STATEMENT_PREFIX */.pL) && !wanted.has(sid));
        if (!policy || !stale)
            return removed;
        const outcome = await awsCall({ action: 'lambda:RemoveLayerVersionPermission', resource, region }, async () => {
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
                const name = awsErrorName(error);
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
    const response = await awsCall({
        action: 'lambda:GetLayerVersionPolicy',
        resource: `layer ${layerName} version ${version}`,
        region
    }, async () => {
        try {
            return await client.send(new dist_cjs/* GetLayerVersionPolicyCommand */.fCq({ LayerName: layerName, VersionNumber: version }));
        }
        catch (error) {
            // A version that was never shared has no policy at all.
            if (awsErrorName(error) === 'ResourceNotFoundException')
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

;// CONCATENATED MODULE: ./src/aws/ssm.ts
// The newest layer version ARN where other stacks (CDK, Terraform, SAM in other repositories)
// can read it: an SSM parameter in each region, rewritten after every publish or reuse.




/**
 * PutParameter, Type String, Overwrite: the parameter holds the ARN this run left the layer at.
 * A failure is returned, not thrown: the layer is published and functions still move onto it.
 */
async function writeLayerParameter(clients, region, 
/** The ssm-parameter input, with its placeholders. */
template, plan, layer) {
    const { runtime, architecture } = plan.target;
    const layerName = (0,names/* layerBaseName */.mg)(plan.layerName);
    let name = template;
    try {
        name = (0,names/* ssmParameterName */.gM)(template, {
            region,
            runtime: runtime.name,
            architecture,
            layer: layerName
        });
        const client = await clients.ssm(region);
        const { PutParameterCommand } = await __webpack_require__.e(/* import() */ 736).then(__webpack_require__.t.bind(__webpack_require__, 34736, 19));
        const written = await awsCall({ action: 'ssm:PutParameter', resource: `parameter ${name}`, region }, () => client.send(new PutParameterCommand({
            Name: name,
            Value: layer.layerVersionArn,
            Type: 'String',
            Overwrite: true,
            Description: `Newest version of Lambda layer ${layerName} (${runtime.name} ${architecture}), written by ${facts/* ACTION_NAME */.px}`
        })));
        return { name, version: written.Version };
    }
    catch (error) {
        return { name, error: (0,errors/* errorMessage */.g)(error) };
    }
}

;// CONCATENATED MODULE: ./src/aws/deploy.ts
// The AWS half of the action: in every region at once, publish (or reuse) the layer version,
// share it, move the named functions onto it, then prune old versions. A failure in one
// region or function is recorded and the rest carry on; the caller fails the step at the end.













async function deployLayer(plan, options = {}) {
    const clients = options.clients ?? defaultClients();
    const grants = parseShareWith(plan.shareWith);
    // A region given twice would publish twice and update its functions concurrently.
    const regionList = [...new Set(plan.regions)];
    const placement = placeFunctions(plan.functions, regionList);
    const settled = await Promise.allSettled(regionList.map(region => deployRegion(region, placement.byRegion.get(region) ?? [], {
        plan,
        options,
        clients,
        grants
    })));
    const regions = settled.map((outcome, i) => outcome.status === 'fulfilled'
        ? outcome.value
        : {
            region: regionList[i],
            shared: [],
            functions: [],
            errors: [(0,errors/* errorMessage */.g)(outcome.reason)]
        });
    if (placement.unplaced.length) {
        regions.push(...groupUnplaced(placement.unplaced));
    }
    return { regions, failures: failuresOf(regions) };
}
async function deployRegion(region, functions, { plan, options, clients, grants }) {
    const result = { region, shared: [], functions: [], errors: [] };
    const lambda = clients.lambda(region);
    try {
        result.layer = await publishLayer(clients, region, plan);
    }
    catch (error) {
        result.errors.push(`publish: ${(0,errors/* errorMessage */.g)(error)}`);
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
            if (!grants.length && isAccessDenied(error)) {
                core/* warning */.$e(`${region}: could not check ${layer.layerVersionArn} for grants of earlier runs to ` +
                    `revoke: ${(0,errors/* errorMessage */.g)(error)}`);
            }
            else {
                result.errors.push(`share-with: ${(0,errors/* errorMessage */.g)(error)}`);
            }
        }
    }
    // After sharing, so an account that reads the ARN may already use it.
    if (plan.ssmParameter) {
        result.parameter = await writeLayerParameter(clients, region, plan.ssmParameter, plan, layer);
        if (result.parameter.error)
            result.errors.push(`ssm-parameter: ${result.parameter.error}`);
    }
    const fit = { runtimes: plan.compatibleRuntimes, architectures: plan.compatibleArchitectures };
    let discovered = { fit: [], unfit: [] };
    if (plan.functions.includes(names/* EVERY_USER_OF_THE_LAYER */.MD)) {
        const named = new Set(functions.map(name => (0,names/* parseFunctionRef */.r$)(name).functionName));
        try {
            discovered = await discoverLayerUsers(lambda, region, layer.layerArn, fit, named);
        }
        catch (error) {
            result.errors.push(`functions: ${names/* EVERY_USER_OF_THE_LAYER */.MD}: ${(0,errors/* errorMessage */.g)(error)}`);
        }
    }
    const release = { region, waiter: options.waiter, smokePayload: plan.smokePayload };
    const updated = await (0,src_concurrency/* mapLimit */.s)([...functions, ...discovered.fit], options.functionConcurrency ?? 4, async (name) => {
        const outcome = await releaseFunction(lambda, (0,names/* parseFunctionRef */.r$)(name), layer.layerVersionArn, fit, release);
        return discovered.fit.includes(name) ? { ...outcome, discovered: true } : outcome;
    });
    result.functions = [...updated, ...discovered.unfit];
    // what a delete must re-read: every function this run touched, as unqualified names
    const holders = [
        ...[...functions, ...discovered.fit].map(name => (0,names/* parseFunctionRef */.r$)(name).unqualified),
        ...discovered.unfit.map(fn => fn.function)
    ];
    if (plan.keepVersions && plan.keepVersions > 0) {
        const concurrency = options.functionConcurrency ?? 4;
        try {
            result.cleanup = await cleanupLayerVersions(lambda, region, plan.layerName, {
                keep: plan.keepVersions,
                current: layer.version,
                lineage: plan,
                ...versionUse(layer.layerArn, result.functions),
                useNow: () => readVersionUse(lambda, region, layer.layerArn, holders, concurrency)
            });
            if (result.cleanup.error)
                result.errors.push(`keep-versions: ${result.cleanup.error}`);
        }
        catch (error) {
            result.errors.push(`keep-versions: ${(0,errors/* errorMessage */.g)(error)}`);
        }
    }
    return result;
}
/**
 * Which versions of this layer the named functions hold after the attach step: the list
 * after the update, or before it when the update failed. A function never read leaves its
 * use unknown.
 */
function versionUse(layerArn, functions) {
    return versionsHeld(layerArn, functions.map(fn => ({
        function: fn.function,
        layers: fn.layersUnknown ? undefined : fn.status === 'failed' ? fn.before : fn.after
    })), 'could not be read');
}
/** The named functions' use read again from Lambda, for the moment right before a delete. */
async function readVersionUse(lambda, region, layerArn, functions, concurrency) {
    const holders = await (0,src_concurrency/* mapLimit */.s)(functions, concurrency, async (name) => {
        try {
            return { function: name, layers: await readLayerArns(lambda, name, region) };
        }
        catch (error) {
            core/* info */.pq(`${region}: could not read ${name} again before deleting: ${(0,errors/* errorMessage */.g)(error)}`);
            return { function: name };
        }
    });
    return versionsHeld(layerArn, holders, 'could not be read again before deleting');
}
/** Version → holders; `layers` undefined means that function's layers are unknown. */
function versionsHeld(layerArn, holders, unreadable) {
    const inUse = new Map();
    const unknown = holders.filter(holder => !holder.layers).map(holder => holder.function);
    for (const holder of holders) {
        for (const arn of holder.layers ?? []) {
            const version = (0,names/* layerVersionOf */.Rb)(arn);
            if ((0,names/* layerArnOf */.s3)(arn) !== layerArn || version === undefined)
                continue;
            inUse.set(version, [...(inUse.get(version) ?? []), holder.function]);
        }
    }
    if (!unknown.length)
        return { inUse };
    return {
        inUse,
        unknownUse: `not deleted: the layers of ${unknown.join(', ')} ${unreadable}, so this version may be in use`
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
/** The version, alias and smoke test of one function, for the log line. */
function releaseNote(fn) {
    const release = fn.release;
    if (!release)
        return '';
    const notes = [
        ...(release.version ? [`version ${release.version}`] : []),
        ...(release.alias
            ? [
                `alias ${release.alias.name} ${release.alias.moved ? `now on ${release.alias.to ?? ''}` : 'not moved'}`
            ]
            : []),
        ...(release.smoke
            ? [
                `smoke test ${release.smoke.passed ? 'passed' : 'failed'} in ${release.smoke.durationMs} ms`
            ]
            : []),
        ...(release.rolledBack ? ['previous layers restored'] : [])
    ];
    return notes.length ? ` (${notes.join(', ')})` : '';
}
/** Logs the per-region outcome; main.ts writes the job summary from the same result. */
function logDeploy(result) {
    for (const region of result.regions) {
        const layer = region.layer;
        if (layer) {
            core/* info */.pq(`${region.region}: ${layer.layerVersionArn} (${layer.published ? 'published' : 'unchanged, reused'})`);
        }
        if (region.parameter?.version !== undefined) {
            core/* info */.pq(`${region.region}: SSM parameter ${region.parameter.name} is version ${region.parameter.version}`);
        }
        for (const fn of region.functions) {
            if (fn.status === 'skipped') {
                core/* warning */.$e(`${region.region}: ${fn.function} uses this layer but was left alone: ${fn.error ?? ''}`);
                continue;
            }
            core/* info */.pq(`${region.region}: ${fn.function} ${fn.status}${releaseNote(fn)}`);
        }
        if (region.cleanup?.deleted.length) {
            core/* info */.pq(`${region.region}: deleted versions ${region.cleanup.deleted.join(', ')}`);
        }
    }
}

// EXTERNAL MODULE: ./src/builder/manifest.ts
var manifest = __webpack_require__(32630);
// EXTERNAL MODULE: ./src/builder/zip/read.ts
var read = __webpack_require__(37119);
// EXTERNAL MODULE: ./src/changes.ts
var changes = __webpack_require__(44582);
;// CONCATENATED MODULE: ./src/aws/previous.ts
// The version a new build would replace, read without downloading it: GetLayerVersion's
// Content.Location is a presigned S3 URL, and S3 answers HTTP range requests, so the zip's
// central directory and its dist-info METADATA/WHEEL entries are all that crosses the wire.
// Read-only: lambda:ListLayerVersions, lambda:GetLayerVersion, lambda:GetFunctionConfiguration.









/** The comparison in one region; failures are recorded in `error`, never thrown. */
async function compareRegion(lambda, region, request) {
    const result = { region, functions: [], bytesRead: 0 };
    const [previous, functions] = await Promise.all([
        readPrevious(lambda, region, request).catch((error) => {
            result.error = (0,errors/* errorMessage */.g)(error);
            return undefined;
        }),
        readFunctionUse(lambda, region, request.layerName, request.functions)
    ]);
    result.functions = functions;
    if (previous) {
        result.previous = previous.version;
        result.bytesRead = previous.bytesRead;
        if (previous.manifest)
            result.changes = (0,changes/* compareLayers */.yN)(previous.manifest, request.after);
        if (previous.error)
            result.error = previous.error;
    }
    return result;
}
async function readPrevious(lambda, region, { layerName, lineage, owners }) {
    const listed = await awsCall({ action: 'lambda:ListLayerVersions', resource: `layer ${layerName}`, region }, () => listLineage(lambda, layerName, lineage, version => version.ours));
    const newest = listed.find(version => version.ours);
    if (!newest)
        return undefined;
    const detail = await awsCall({
        action: 'lambda:GetLayerVersion',
        resource: `layer ${layerName} version ${newest.version}`,
        region
    }, () => lambda.send(new dist_cjs/* GetLayerVersionCommand */.VK5({ LayerName: layerName, VersionNumber: newest.version })));
    const version = {
        version: newest.version,
        layerVersionArn: detail.LayerVersionArn ?? `${layerName}:${newest.version}`
    };
    const location = detail.Content?.Location;
    const size = detail.Content?.CodeSize;
    if (!location || !size) {
        return { version, bytesRead: 0, error: 'GetLayerVersion gave no download location' };
    }
    const source = rangeSource(location, size);
    try {
        return { version, manifest: await (0,manifest/* readLayerManifest */.Z$)(source, owners), bytesRead: source.bytes() };
    }
    catch (error) {
        return {
            version,
            bytesRead: source.bytes(),
            error: `could not read version ${newest.version}'s zip: ${(0,errors/* errorMessage */.g)(error)}`
        };
    }
}
/**
 * The presigned URL as a ZipSource that asks only for the bytes it needs; a server that ignores
 * Range (answers 200) is refused, so a plan never downloads a whole layer by accident.
 */
function rangeSource(url, size) {
    let bytes = 0;
    return {
        size,
        bytes: () => bytes,
        read: async (offset, length) => {
            const last = Math.min(size, offset + length) - 1;
            if (last < offset)
                return Buffer.alloc(0);
            const response = await fetch(url, { headers: { Range: `bytes=${offset}-${last}` } });
            if (response.status !== 206) {
                await response.body?.cancel();
                // the URL is presigned: its query string is a credential and stays out of the message
                throw new Error(`the layer's download URL answered HTTP ${response.status} to a range request (${new URL(url).host})`);
            }
            const body = Buffer.from(await response.arrayBuffer());
            bytes += body.length;
            return body;
        }
    };
}
/** Which version of this layer each named function holds, from GetFunctionConfiguration. */
async function readFunctionUse(lambda, region, layerName, functions) {
    return (0,src_concurrency/* mapLimit */.s)(functions, 4, async (name) => {
        try {
            const arns = await readLayerArns(lambda, name, region);
            const ours = arns.find(arn => (0,names/* layerBaseName */.mg)((0,names/* layerArnOf */.s3)(arn)) === (0,names/* layerBaseName */.mg)(layerName));
            return { function: name, region, ...(ours ? { layerVersionArn: ours } : {}) };
        }
        catch (error) {
            return { function: name, region, error: (0,errors/* errorMessage */.g)(error) };
        }
    });
}

;// CONCATENATED MODULE: ./src/aws/index.ts
// The AWS half's one door. main.ts imports it lazily, only when publishing, so a build-only run
// never loads the AWS SDK.











/**
 * Before the build: the regions to publish to and credentials that resolve, so a missing
 * AWS setup fails in seconds, not after pip.
 */
async function preflight(inputs) {
    const regions = inputs.regions.length > 0 ? inputs.regions : [await defaultRegion()];
    for (const region of regions)
        (0,names/* checkLayerRegion */.WU)(inputs.layerName, region);
    const [unplaced] = placeFunctions(inputs.functions, regions).unplaced;
    if (unplaced)
        throw new Error(`functions: ${unplaced.error}`);
    if (inputs.ssmParameter)
        checkParameterNames(inputs, regions);
    try {
        await defaultClients().lambda(regions[0]).config.credentials();
    }
    catch (error) {
        throw new Error(describeAwsError(error, { action: 'lambda:PublishLayerVersion', region: regions[0] }));
    }
    return regions;
}
/** Again with the regions now known (inputs.ts checked a typical one when none was given). */
function checkParameterNames(inputs, regions) {
    const { runtime, architecture } = inputs.target;
    try {
        (0,names/* ssmParameterNames */.jA)(inputs.ssmParameter, { runtime: runtime.name, architecture, layer: (0,names/* layerBaseName */.mg)(inputs.layerName) }, regions);
    }
    catch (error) {
        throw new Error(`ssm-parameter: ${(0,errors/* errorMessage */.g)(error)}`);
    }
}
async function publishAndAttach(inputs, regions, report, source) {
    const result = await deployLayer({
        layerName: inputs.layerName,
        zip: report.zip,
        description: inputs.description ?? defaultDescription(report, source),
        licenseInfo: inputs.licenseInfo,
        target: report.target,
        compatibleRuntimes: inputs.compatibleRuntimes,
        compatibleArchitectures: inputs.compatibleArchitectures,
        skipUnchanged: inputs.skipUnchanged,
        s3Bucket: inputs.s3Bucket,
        s3Prefix: inputs.s3Prefix,
        regions,
        functions: inputs.functions,
        smokePayload: inputs.smokeTestPayload,
        shareWith: inputs.shareWith,
        keepVersions: inputs.keepVersions,
        ssmParameter: inputs.ssmParameter
    });
    logDeploy(result);
    return result;
}
/** What the version was built from, so the console says where a layer came from. */
function defaultDescription(report, source) {
    const text = `${external_node_path_default().basename(source.file)} (deps ${source.identity.slice(0, 12)}), ${report.packages.length} packages, ${report.target.runtime.name} ${report.target.architecture}, by ${facts/* ACTION_NAME */.px}`;
    return text.slice(0, facts/* LIMITS */.b1.descriptionMax);
}
/** The IAM actions a plan needs, and nothing more. */
const PLAN_ACTIONS = [
    'lambda:ListLayerVersions',
    'lambda:GetLayerVersion',
    'lambda:GetFunctionConfiguration'
];
/**
 * A plan's preflight never fails the step: without credentials (a pull request from a fork)
 * the build and its checks still run, and the report says the comparison needs read access.
 */
async function planPreflight(inputs) {
    try {
        const regions = inputs.regions.length > 0 ? inputs.regions : [await defaultRegion()];
        for (const region of regions)
            (0,names/* checkLayerRegion */.WU)(inputs.layerName, region);
        await defaultClients().lambda(regions[0]).config.credentials();
        return { regions };
    }
    catch (error) {
        return {
            unavailable: `the comparison with the published version needs read access (${PLAN_ACTIONS.join(', ')}): ${(0,errors/* errorMessage */.g)(error).split('\n')[0]}`
        };
    }
}
/**
 * The new zip against the newest version of its lineage in each region, and which version
 * each named function holds. Read-only; a region that cannot be read says why in its entry.
 */
async function compareWithPublished(inputs, access, report, mode) {
    const owners = (0,manifest/* topLevelOwners */.Sd)(report.packages);
    const zip = await (0,read/* fileZipSource */.XQ)(report.zip.zipPath);
    const after = await (0,manifest/* readLayerManifest */.Z$)(zip, owners).finally(() => zip.close());
    const layerName = inputs.layerName;
    if ('unavailable' in access) {
        return { mode, layerName, after, regions: [], unavailable: access.unavailable };
    }
    const placement = placeFunctions(inputs.functions, access.regions);
    const lineage = {
        target: report.target,
        compatibleRuntimes: inputs.compatibleRuntimes,
        compatibleArchitectures: inputs.compatibleArchitectures
    };
    const regions = await Promise.all(access.regions.map(region => compareRegion(defaultClients().lambda(region), region, {
        layerName,
        lineage,
        after,
        owners,
        functions: placement.byRegion.get(region) ?? []
    })));
    return { mode, layerName, after, regions };
}


/***/ })

};
