// Packages that run code where the action runs them: an sdist whose build backend (what setup.py
// is to setuptools) records the environment pip gives it, and module code that records the
// environment of the import check. The records land at paths the test chooses.

import { gzipSync } from 'node:zlib'
import {
  buildWheel,
  coreMetadata,
  filenameName,
  writeTar,
  type Distribution,
  type WheelSpec
} from './wheels.js'

/** Python that writes this process's environment as JSON to `file`. */
export function dumpEnvironment(file: string): string {
  return `import json, os\nwith open(${JSON.stringify(file)}, 'w') as f:\n    json.dump(dict(os.environ), f)\n`
}

/**
 * An sdist (no wheel) whose in-tree PEP 517 backend writes its environment to `buildDump` when
 * pip builds it, then hands pip the pure wheel of `spec`.
 */
export function spyingSdist(spec: WheelSpec, buildDump: string): Distribution {
  const wheel = buildWheel(spec)
  const backend = `${dumpEnvironment(buildDump)}
import base64
WHEEL = base64.b64decode(${JSON.stringify(wheel.bytes.toString('base64'))})

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with open(os.path.join(wheel_directory, ${JSON.stringify(wheel.filename)}), 'wb') as f:
        f.write(WHEEL)
    return ${JSON.stringify(wheel.filename)}
`
  const pyproject =
    '[build-system]\nrequires = []\nbuild-backend = "spy_backend"\nbackend-path = ["."]\n'
  const base = `${filenameName(spec.name)}-${spec.version}`
  const members = Object.entries({
    'PKG-INFO': coreMetadata(spec),
    'pyproject.toml': pyproject,
    'spy_backend.py': backend
  }).map(([path, text]) => ({ path: `${base}/${path}`, data: Buffer.from(text) }))
  return { filename: `${base}.tar.gz`, bytes: gzipSync(writeTar(members)) }
}
