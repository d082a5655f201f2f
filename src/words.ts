// Words as a POSIX shell (and Python's shlex, which pip uses for options in requirement files)
// splits them: quotes group and may stand mid-word, backslash escapes. Nothing is ever run.

/** `-f"../x" --index-url='a b'` → `-f../x`, `--index-url=a b`; an unclosed quote throws. */
export function shellWords(value: string): string[] {
  const words: string[] = []
  let word = ''
  let quote: '"' | "'" | undefined
  let inWord = false
  for (let i = 0; i < value.length; i++) {
    const char = value[i]
    if (quote) {
      if (char === quote) quote = undefined
      else if (char === '\\' && quote === '"' && i + 1 < value.length) word += value[++i]
      else word += char
    } else if (char === '"' || char === "'") {
      quote = char
      inWord = true
    } else if (char === '\\' && i + 1 < value.length) {
      word += value[++i]
      inWord = true
    } else if (/\s/.test(char)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
    } else {
      word += char
      inWord = true
    }
  }
  if (quote) throw new Error(`unclosed ${quote} quote`)
  if (inWord) words.push(word)
  return words
}
