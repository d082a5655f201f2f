// Invoke, for real: the function's handler runs in a local CPython with its layers extracted
// the way Lambda extracts them to /opt (in list order, later layers over earlier ones) and
// /opt/python plus /opt/python/lib/pythonX.Y/site-packages on sys.path. A layer that lacks a
// module the handler imports fails exactly as on Lambda: Runtime.ImportModuleError at init.
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'

/** What the runtime interface answers: the handler's JSON result, or an error document. */
export interface Invocation {
  payload: Buffer
  /** Set when the function failed (X-Amz-Function-Error: Unhandled). */
  functionError?: 'Unhandled'
  /** The end of what the function wrote to stdout/stderr (X-Amz-Log-Result with LogType Tail). */
  log: string
}

export interface InvocationTarget {
  functionName: string
  handler: string
  /** Seconds, as the function's Timeout. */
  timeout: number
  code: Record<string, string>
  /** Layer zips in merge order. */
  layers: Buffer[]
  event: Buffer
  requestId: string
}

/** The interpreter the emulator runs handlers with; EMULATOR_PYTHON overrides it. */
export function invocationPython(env = process.env): string {
  return env.EMULATOR_PYTHON || 'python3'
}

// The slice of Lambda's Python runtime interface client a smoke test meets: init errors with
// Lambda's errorType names, handler errors with the exception's class name, JSON results.
const BOOTSTRAP = String.raw`
import importlib, json, os, signal, sys, traceback, zipfile
task, opt, handler, request_id, function_name, timeout = sys.argv[1:7]
for layer in sys.argv[7:]:
    with zipfile.ZipFile(layer) as archive:
        archive.extractall(opt)
version = 'python%d.%d' % sys.version_info[:2]
sys.path[:0] = [task, os.path.join(opt, 'python', 'lib', version, 'site-packages'), os.path.join(opt, 'python')]
out = sys.stdout
sys.stdout = sys.stderr
def reply(document, failed):
    out.write(json.dumps({'failed': failed, 'payload': document}))
    out.flush()
    os._exit(0)
def error(kind, message, trace=None):
    reply({'errorMessage': message, 'errorType': kind, 'requestId': request_id if trace is not None else '', 'stackTrace': trace or []}, True)
module_name, _, attribute = handler.rpartition('.')
try:
    module = importlib.import_module(module_name.replace('/', '.'))
except ImportError as e:
    error('Runtime.ImportModuleError', "Unable to import module '%s': %s" % (module_name, e))
except SyntaxError as e:
    error('Runtime.UserCodeSyntaxError', "Syntax error in module '%s': %s" % (module_name, e))
except Exception as e:
    error(type(e).__name__, str(e))
function = getattr(module, attribute, None)
if function is None:
    error('Runtime.HandlerNotFound', "Handler '%s' missing on module '%s'" % (attribute, module_name))
class Context:
    aws_request_id = request_id
    function_name = function_name
    def get_remaining_time_in_millis(self):
        return 3000
raw = sys.stdin.buffer.read()
try:
    event = json.loads(raw) if raw else {}
except ValueError as e:
    error('Runtime.UnmarshalError', 'Unable to unmarshal input: %s' % e)
def timed_out(signum, frame):
    error('Sandbox.Timedout', 'RequestId: %s Error: Task timed out after %.2f seconds' % (request_id, float(timeout)))
signal.signal(signal.SIGALRM, timed_out)
signal.setitimer(signal.ITIMER_REAL, float(timeout))
try:
    result = function(event, Context())
except Exception as e:
    error(type(e).__name__, str(e), traceback.format_exception(type(e), e, e.__traceback__)[1:])
try:
    reply(result, False)
except (TypeError, ValueError) as e:
    error('Runtime.MarshalError', 'Unable to marshal response: %s' % e)
`

const LOG_TAIL_BYTES = 4096
/** Lambda gives init (imports at module level) its own 10 s before the handler's Timeout starts. */
const INIT_SECONDS = 10

/**
 * Runs the handler once. The handler's run is timed inside the interpreter (the function's
 * Timeout); a process still alive after init's 10 s plus that is killed. Both answer as Lambda.
 */
export async function invokeHandler(
  target: InvocationTarget,
  python = invocationPython()
): Promise<Invocation> {
  const root = await mkdtemp(path.join(tmpdir(), 'emulator-invoke-'))
  try {
    const task = path.join(root, 'task')
    const opt = path.join(root, 'opt')
    await mkdir(opt)
    for (const [file, text] of Object.entries(target.code)) {
      const at = path.join(task, file)
      if (!at.startsWith(task + path.sep)) throw new Error(`code file ${file} is outside the task`)
      await mkdir(path.dirname(at), { recursive: true })
      await writeFile(at, text)
    }
    await mkdir(task, { recursive: true })
    const layerFiles: string[] = []
    for (const [i, zip] of target.layers.entries()) {
      const file = path.join(root, `layer-${i}.zip`)
      await writeFile(file, zip)
      layerFiles.push(file)
    }
    const args = ['-I', '-c', BOOTSTRAP, task, opt, target.handler, target.requestId]
    const run = await runPython(
      python,
      [...args, target.functionName, String(target.timeout), ...layerFiles],
      target.event,
      (target.timeout + INIT_SECONDS) * 1000
    )
    const log = run.stderr.slice(-LOG_TAIL_BYTES)
    if (run.timedOut) {
      return failed(
        {
          errorType: 'Sandbox.Timedout',
          errorMessage: `RequestId: ${target.requestId} Error: Task timed out after ${target.timeout.toFixed(2)} seconds`
        },
        log
      )
    }
    let reply: { failed: boolean; payload: unknown }
    try {
      reply = JSON.parse(run.stdout) as typeof reply
    } catch {
      return failed(
        {
          errorType: 'Runtime.ExitError',
          errorMessage: `RequestId: ${target.requestId} Error: Runtime exited with error: exit status ${run.exitCode}`
        },
        log
      )
    }
    const payload = Buffer.from(JSON.stringify(reply.payload))
    return reply.failed ? { payload, functionError: 'Unhandled', log } : { payload, log }
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

function failed(document: { errorType: string; errorMessage: string }, log: string): Invocation {
  return { payload: Buffer.from(JSON.stringify(document)), functionError: 'Unhandled', log }
}

interface PythonRun {
  stdout: string
  stderr: string
  exitCode: number | null
  timedOut: boolean
}

function runPython(
  python: string,
  args: string[],
  input: Buffer,
  timeoutMs: number
): Promise<PythonRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.stdout.on('data', chunk => (stdout += chunk))
    child.stderr.on('data', chunk => (stderr += chunk))
    child.stdin.on('error', () => {}) // a handler that exits without reading its event
    child.on('error', error => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', exitCode => {
      clearTimeout(timer)
      resolve({ stdout, stderr, exitCode, timedOut })
    })
    child.stdin.end(input)
  })
}
