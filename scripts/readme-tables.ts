// Writes the README's inputs and outputs tables from action.yml, so the two never drift.
// `npm run readme` rewrites them; __tests__/readme.test.ts fails when they differ.
import { readFileSync, writeFileSync } from 'node:fs'
import { format, resolveConfig } from 'prettier'
import { parse } from 'yaml'

interface ActionYaml {
  inputs: Record<string, { description: string; required?: boolean; default?: string }>
  outputs: Record<string, { description: string }>
}

// A table cell renders as GitHub Markdown: `__pycache__` would turn bold and `*.pyc … *.pyi`
// italic, so prose is escaped; code spans are kept as written (a backslash there would show).
export function cell(text: string): string {
  return text
    .replace(/\n/g, ' ')
    .split(/(`[^`\n]*`)/)
    .map((part, index) => (index % 2 === 1 ? part : escapeProse(part)))
    .join('')
    .replace(/\|/g, '\\|') // GFM ends a cell at any unescaped pipe, even inside a code span
}

// `_` between two letters or digits (x86_64, AWS_REGION) can never start or end emphasis.
function escapeProse(text: string): string {
  return text.replace(/[\\*_[\]<>~]/g, (mark, at: number) =>
    mark === '_' && isWordChar(text[at - 1]) && isWordChar(text[at + 1]) ? mark : `\\${mark}`
  )
}

const isWordChar = (char: string | undefined): boolean =>
  char !== undefined && /[\p{L}\p{N}]/u.test(char)

export function inputsTable(action: ActionYaml): string {
  const rows = Object.entries(action.inputs).map(
    ([name, input]) =>
      `| \`${name}\` | ${cell(input.description)} | ${input.default ? `\`${input.default}\`` : ''} |`
  )
  return ['| input | description | default |', '|---|---|---|', ...rows].join('\n')
}

export function outputsTable(action: ActionYaml): string {
  const rows = Object.entries(action.outputs).map(
    ([name, output]) => `| \`${name}\` | ${cell(output.description)} |`
  )
  return ['| output | description |', '|---|---|', ...rows].join('\n')
}

export function readAction(file = 'action.yml'): ActionYaml {
  return parse(readFileSync(file, 'utf8')) as ActionYaml
}

/** The README with its generated sections replaced, formatted as the repository formats it. */
export async function renderReadme(readme: string, action: ActionYaml): Promise<string> {
  const text = replaceSection(
    replaceSection(readme, 'inputs', inputsTable(action)),
    'outputs',
    outputsTable(action)
  )
  const options = (await resolveConfig('README.md')) ?? {}
  return format(text, { ...options, parser: 'markdown' })
}

function replaceSection(text: string, name: string, body: string): string {
  const start = `<!-- ${name}:start -->`
  const end = `<!-- ${name}:end -->`
  const from = text.indexOf(start)
  const to = text.indexOf(end)
  if (from === -1 || to === -1) throw new Error(`README.md lacks the ${start} … ${end} markers`)
  return `${text.slice(0, from + start.length)}\n\n${body}\n\n${text.slice(to)}`
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const readme = readFileSync('README.md', 'utf8')
  writeFileSync('README.md', await renderReadme(readme, readAction()))
}
