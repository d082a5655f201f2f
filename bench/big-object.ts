// `--only big-object`: one wheel holding one 200 MB shared object (real ELF headers, padded),
// the layer the RSS target names besides the corpus. Its entry is deflated in the wheel
// (as setuptools and auditwheel write them) or stored, which the action may deflate anew.

import { makeSharedObject } from '../__tests__/support/elf.js'
import { buildWheel, type Distribution } from '../__tests__/support/wheels.js'
import { CORPUS_PYTHON } from './corpus.js'

export const BIG_OBJECT_BYTES = 200 * 1000 * 1000
export const BIG_OBJECT_REQUIREMENTS = 'bigobject==1.0\n'

export type BigObjectEntry = 'deflated' | 'stored'

/** The wheel, served alone by its own index; the import check leaves its stand-in module out. */
export function bigObjectDistributions(entry: BigObjectEntry): Distribution[] {
  const cp = `cp${CORPUS_PYTHON.replace('.', '')}`
  const object = makeSharedObject({
    machine: 'x86_64',
    glibc: ['GLIBC_2.17'],
    padTo: BIG_OBJECT_BYTES
  })
  return [
    buildWheel({
      name: 'bigobject',
      version: '1.0',
      tag: `${cp}-${cp}-manylinux_2_17_x86_64.manylinux2014_x86_64`,
      files: {
        'bigobject/__init__.py': '',
        [`bigobject/_core.${cp.replace('cp', 'cpython-')}-x86_64-linux-gnu.so`]: object
      },
      deflate: entry === 'deflated'
    })
  ]
}
