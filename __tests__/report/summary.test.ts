import { describe, expect, it } from 'vitest'
import type { BuildReport } from '../../src/builder/index.js'
import type { Finding } from '../../src/builder/verify.js'
import { findRuntime } from '../../src/facts.js'
import {
  buildSummary,
  changesSummary,
  failureSummary,
  functionsSection,
  packageSizeChart
} from '../../src/report/summary.js'

const target = { runtime: findRuntime('python3.11')!, architecture: 'x86_64' as const }

/** A build of `packages` packages with `findings` glibc findings spread over them. */
function report(packages: number, findings: number, excluded = 0, importFailures = 0): BuildReport {
  const name = (i: number) => `package-${String(i).padStart(5, '0')}`
  return {
    target,
    source: { kind: 'requirements', file: 'requirements.txt' },
    packages: Array.from({ length: packages }, (_, i) => ({
      name: name(i),
      version: '1.0.0',
      requested: i % 2 === 0,
      files: [],
      bytes: 1000 + i
    })),
    excluded: Array.from({ length: excluded }, (_, i) => ({
      name: `left-${i}`,
      version: '1.0',
      reason: 'the runtime ships it',
      providedByRuntime: true
    })),
    builtFromSdist: [],
    heldBack: [],
    slimmed: { files: 0, bytes: 0 },
    findings: Array.from({ length: findings }, (_, i): Finding => {
      const file = `${name(i % packages)}/_native_${i}.so`
      return {
        package: name(i % packages),
        version: '1.0.0',
        file,
        kind: 'glibc',
        message: `${name(i % packages)} 1.0.0: ${file} needs GLIBC_2.28; python3.11 (Amazon Linux 2) has 2.26`,
        glibcNeeded: [2, 28]
      }
    }),
    verify: 'error',
    importCheck: {
      summary: `${importFailures} of ${packages} modules failed to import`,
      failures: Array.from({ length: importFailures }, (_, i) => `${name(i)}: ImportError: boom`)
    },
    zip: {
      zipPath: '/tmp/layer.zip',
      zipSize: 1234,
      codeSha256: 'abc=',
      sha256Hex: 'abc',
      fileCount: 50000,
      unzippedSize: 5678
    }
  }
}

describe('buildSummary', () => {
  it('stays far below the 1 MiB step-summary limit for a huge layer, counting what it leaves out', () => {
    const markdown = buildSummary(report(20_000, 50_000, 5_000, 3_000))
    expect(Buffer.byteLength(markdown)).toBeLessThan(64 * 1024)
    // packages, problems (one line per package), left out, import failures: each capped
    expect(markdown).toContain('20,000 packages, largest first')
    expect(markdown).toContain('… and 19,900 more\n')
    expect(markdown).toContain('20,000 problems, by package')
    expect(markdown).toContain('… and 4,900 more')
    expect(markdown).toContain('… and 2,900 more')
    expect(markdown).toContain('<details>')
    // the largest package is the one listed first
    expect(markdown.indexOf('| package-19999 |')).toBeGreaterThan(0)
    expect(markdown).not.toContain('| package-00000 |')
  })

  it('lists a short list as it is, unfolded', () => {
    const markdown = buildSummary(report(3, 2, 1))
    expect(markdown).not.toContain('<details><summary>3 packages')
    expect(markdown).toContain('| package-00000 | 1.0.0 |')
    expect(markdown).toContain('Left out:\n\n- left-0 1.0: the runtime ships it')
    expect(markdown).toContain(
      '- package-00001 1.0.0: package-00001/_native_1.so needs GLIBC_2.28; python3.11 (Amazon Linux 2) has 2.26'
    )
    expect(markdown).not.toContain('… and')
  })
})

describe('the packages the runtime glibc held back', () => {
  it('are a table naming the runtimes that would take the newest, and absent when there are none', () => {
    const heldBack = [
      {
        name: 'numpy',
        installed: '2.2.6',
        newest: '2.4.6',
        needs: 'manylinux_2_28',
        takenBy: 'python3.12+'
      }
    ]
    const markdown = buildSummary({ ...report(3, 0), heldBack })
    expect(markdown).toContain(
      '**Held back by glibc 2.26** (python3.11, Amazon Linux 2): 1 package is older than the newest on the index.'
    )
    expect(markdown).toContain('| numpy | 2.2.6 | 2.4.6 | manylinux_2_28 | python3.12+ |')
    expect(buildSummary(report(3, 0))).not.toContain('Held back')
  })
})

describe('failureSummary', () => {
  it('says what was asked and what failed, the message kept as text', () => {
    const markdown = failureSummary('no-such==1.0: no version <on the index>\nsecond line', {
      requirements: 'svc/requirements.txt',
      target
    })
    expect(markdown).toContain(
      'Asked for: requirements `svc/requirements.txt`, runtime python3.11, architecture x86_64.'
    )
    expect(markdown).toContain('no-such==1.0: no version &lt;on the index&gt;\nsecond line')
  })

  it('caps a very long message and hides credentials in URLs', () => {
    const message = [
      'https://user:hunter2@example.com/simple/',
      ...Array(5000).fill('x'.repeat(200))
    ]
    const markdown = failureSummary(message.join('\n'))
    expect(Buffer.byteLength(markdown)).toBeLessThan(16 * 1024)
    expect(markdown).not.toContain('hunter2')
    expect(markdown).toContain('… and 4,961 more lines (in the log)')
  })
})

describe('functionsSection', () => {
  const arn = (version: number) => `arn:aws:lambda:us-east-1:123456789012:layer:deps:${version}`

  it('shows per function the layers before → after, the version, the alias and the smoke test', () => {
    const lines = functionsSection([
      {
        function: 'orders-api:live',
        region: 'us-east-1',
        before: [arn(1)],
        after: [arn(2)],
        status: 'updated',
        release: {
          version: '7',
          alias: { name: 'live', from: '6', to: '7', moved: true },
          smoke: { passed: true, qualifier: '7', durationMs: 1234 }
        }
      },
      {
        function: 'billing',
        region: 'us-east-1',
        before: [arn(1)],
        after: [arn(1)],
        status: 'failed',
        error: 'smoke test failed: Runtime.ImportModuleError: no | pipe',
        release: {
          smoke: {
            passed: false,
            qualifier: '$LATEST',
            durationMs: 50,
            errorType: 'Runtime.ImportModuleError',
            errorMessage: "Unable to import module 'app': No module named 'greeter'"
          },
          rolledBack: true
        }
      },
      {
        function: 'legacy',
        region: 'us-east-1',
        before: [arn(1)],
        after: [arn(1)],
        status: 'skipped',
        error: 'legacy runs python3.11 on x86_64, but the layer is for python3.12 on x86_64',
        discovered: true
      }
    ])
    expect(lines).toContain(
      `| orders-api:live | us-east-1 | updated | \`${arn(1)}\`<br>→<br>\`${arn(2)}\` | 7 | live: 6 → 7 | passed on 7 (1.23 s) |`
    )
    expect(lines).toContain(
      `| billing | us-east-1 | failed: smoke test failed: Runtime.ImportModuleError: no \\| pipe | \`${arn(1)}\` (unchanged) |  |  | failed on $LATEST (0.05 s): Runtime.ImportModuleError: Unable to import module 'app': No module named 'greeter'; previous layers restored |`
    )
    expect(lines.find(line => line.startsWith('| legacy (found)'))).toContain(
      'left alone: legacy runs python3.11 on x86_64'
    )
  })
})

describe('charts and the comparison', () => {
  it('keeps a chart of a 3,000-package layer to the biggest packages and "other"', () => {
    const chart = packageSizeChart(report(3000, 0).packages)
    const slices = chart.split('\n').filter(line => line.startsWith('  "'))
    expect(slices).toHaveLength(13)
    expect(slices[0]).toBe('  "package-02999" : 3.9')
    expect(slices.at(-1)).toMatch(/^ {2}"other" : \d+/)
    expect(chart.startsWith('\n```mermaid\npie')).toBe(true)
  })

  it('says why nothing was compared when AWS could not be read', () => {
    const markdown = changesSummary({
      mode: 'plan',
      layerName: 'deps',
      after: { packages: [], otherBytes: 0, unzippedSize: 0, zipSize: 0, fileCount: 0 },
      regions: [],
      unavailable: 'the comparison with the published version needs read access'
    })
    expect(markdown).toContain('### Plan: what publishing deps would change')
    expect(markdown).toContain(
      '**Not compared:** the comparison with the published version needs read access'
    )
  })
})
