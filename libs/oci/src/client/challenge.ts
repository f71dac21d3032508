// WWW-Authenticate parsing (RFC 9110 §11.6.1): one or more challenges, each a scheme followed
// by comma-separated auth-params whose values may be quoted strings with backslash escapes.
// Registries send `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.

export interface Challenge {
  /** Lower-case scheme: "bearer", "basic", … */
  scheme: string;
  params: Record<string, string>;
}

export function parseWwwAuthenticate(value: string | string[] | undefined): Challenge[] {
  if (value === undefined) return [];
  const values = Array.isArray(value) ? value : [value];
  return values.flatMap(parseOne);
}

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;

function parseOne(input: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const skipSpace = () => {
    while (i < input.length && (input[i] === ' ' || input[i] === '\t')) i++;
  };
  const token = (): string | undefined => {
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(input);
    if (!m) return undefined;
    i = TOKEN.lastIndex;
    return m[0];
  };
  const quoted = (): string => {
    let s = '';
    i++; // opening quote
    while (i < input.length && input[i] !== '"') {
      if (input[i] === '\\' && i + 1 < input.length) i++;
      s += input[i++];
    }
    i++; // closing quote
    return s;
  };

  while (i < input.length) {
    skipSpace();
    while (input[i] === ',') {
      i++;
      skipSpace();
    }
    const scheme = token();
    if (!scheme) break;
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    // auth-params until we meet something that is a new scheme (a token not followed by '=').
    for (;;) {
      skipSpace();
      const save = i;
      const name = token();
      if (!name) break;
      skipSpace();
      if (input[i] !== '=') {
        i = save; // the next challenge's scheme
        break;
      }
      i++;
      skipSpace();
      const value = input[i] === '"' ? quoted() : (token() ?? '');
      challenge.params[name.toLowerCase()] = value;
      skipSpace();
      if (input[i] === ',') i++;
      else break;
    }
  }
  return out;
}
