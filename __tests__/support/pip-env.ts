// pip reads config files and PIP_* variables from the machine. This one adds a local PyPI
// mirror (find-links, extra-index-url) and a constraints file, so a test pip must see none of
// it: only the index the test itself started.

/** A copy of `base` under which pip ignores every config file and PIP_* setting of the machine. */
export function isolatedPipEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(base)) {
    if (!key.toUpperCase().startsWith('PIP_')) env[key] = value
  }
  // pip loads no config file at all when PIP_CONFIG_FILE is os.devnull.
  env.PIP_CONFIG_FILE = '/dev/null'
  env.PIP_DISABLE_PIP_VERSION_CHECK = '1'
  env.PIP_NO_INPUT = '1'
  return env
}
