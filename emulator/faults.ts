// Failures played on request: what a real account does under load, during a concurrent
// deploy, or when the network drops, so retries and error messages can be tested.
import { randomUUID } from 'node:crypto'
import {
  resourceConflict,
  s3Error,
  serviceException,
  serviceUnavailable,
  tooManyRequests,
  type ApiError
} from './errors.js'
import type { EmulatorState } from './state.js'

export type FaultKind =
  | 'throttle'
  | 'server-error'
  | 'unavailable'
  | 'drop'
  | 'drop-response'
  | 'conflict'
  | 'stale-revision'
  | 'in-progress'
  | 'update-failed'
  | 'layers-changed'
  | 'access-denied'

/**
 * A failure to play on the next matching request(s).
 * - throttle: 429 TooManyRequestsException (S3: 503 SlowDown) with Retry-After = durationMs
 *   (default 1000 ms);
 * - server-error: 500 ServiceException (S3: InternalError); unavailable: 503;
 * - drop: the socket is destroyed before the request is handled;
 * - drop-response: the request is handled (an update applied, a version published), then the
 *   socket is destroyed before the response: the caller cannot know it succeeded;
 * - conflict: 409 ResourceConflictException (S3: OperationAborted);
 * - stale-revision: the function's RevisionId changes just before the request is handled;
 * - in-progress: the function's LastUpdateStatus reads InProgress for durationMs (default
 *   1000 ms), starting just before the request is handled;
 * - update-failed: the function's next update is accepted but ends with LastUpdateStatus
 *   Failed (inject it on UpdateFunctionConfiguration);
 * - layers-changed: the function's layer list becomes `layers` (with a new RevisionId) just
 *   before the request is handled, as another deploy racing this one would leave it;
 * - access-denied: AccessDenied for the operation's IAM action (SSM's names the parameter), as
 *   `deny()` answers, but only for the matching requests (one region, a number of times).
 * `function` narrows requests that name a function, and picks the function that
 * stale-revision, in-progress, update-failed and layers-changed act on (default: the one the
 * request names).
 */
export interface Fault {
  /** The SDK's operation name, e.g. 'PublishLayerVersion' or 'PutObject'. */
  operation: string
  kind: FaultKind
  /** Default 1. */
  times?: number
  /** Matching requests let through before the fault plays (default 0): the second update, say. */
  after?: number
  function?: string
  region?: string
  durationMs?: number
  /** layers-changed: the layer version ARNs the function holds afterwards. */
  layers?: string[]
}

const DEFAULT_FAULT_MS = 1000

export class Faults {
  private readonly armed: Array<{ fault: Fault; remaining: number; passed: number }> = []

  inject(fault: Fault): void {
    this.armed.push({ fault, remaining: fault.times ?? 1, passed: 0 })
  }

  /** The first armed fault matching the request, counted as fired. */
  take(operation: string, region: string, functionName?: string): Fault | undefined {
    const match = this.armed.find(
      ({ fault, remaining }) =>
        remaining > 0 &&
        fault.operation === operation &&
        (fault.region === undefined || fault.region === region) &&
        (fault.function === undefined ||
          functionName === undefined ||
          fault.function === functionName)
    )
    if (!match) return undefined
    if (match.passed < (match.fault.after ?? 0)) {
      match.passed++
      return undefined
    }
    match.remaining--
    return match.fault
  }
}

/**
 * The error a fault answers with, or undefined for the faults that change a function and let
 * the request go on (and for drop, which has no answer at all).
 */
export function faultError(fault: Fault, s3: boolean, resourceArn: string): ApiError | undefined {
  switch (fault.kind) {
    case 'throttle':
      return s3
        ? s3Error(503, 'SlowDown', 'Please reduce your request rate.')
        : tooManyRequests(fault.durationMs ?? DEFAULT_FAULT_MS)
    case 'server-error':
      return s3
        ? s3Error(500, 'InternalError', 'We encountered an internal error. Please try again.')
        : serviceException()
    case 'unavailable':
      return s3
        ? s3Error(503, 'ServiceUnavailable', 'Service is unable to handle request.')
        : serviceUnavailable()
    case 'conflict':
      return s3
        ? s3Error(
            409,
            'OperationAborted',
            'A conflicting conditional operation is currently in progress against this resource. Please try again.'
          )
        : resourceConflict(
            `The operation cannot be performed at this time. An update is in progress for resource: ${resourceArn}`
          )
    default:
      return undefined
  }
}

/** stale-revision, in-progress, update-failed, layers-changed: someone else changes the function first. */
export function applyFunctionFault(
  fault: Fault,
  state: EmulatorState,
  region: string,
  requestFunction: string | undefined
): void {
  const name = fault.function ?? requestFunction
  const fn = name ? state.region(fault.region ?? region).functions.get(name) : undefined
  if (!fn) return
  if (fault.kind === 'stale-revision') fn.revisionId = randomUUID()
  if (fault.kind === 'in-progress') {
    fn.updateInProgressUntil = Date.now() + (fault.durationMs ?? DEFAULT_FAULT_MS)
  }
  if (fault.kind === 'update-failed') state.failingUpdates.add(fn)
  if (fault.kind === 'layers-changed') {
    fn.layers = [...(fault.layers ?? [])]
    fn.revisionId = randomUUID()
  }
}
