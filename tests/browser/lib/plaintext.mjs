// Looks for plaintext in captured request bodies, in every encoding a careless client could use
// to send it: UTF-8 (raw and JSON-escaped), base64 and base64url at each of the three byte
// alignments (so a secret embedded anywhere in a larger encoded blob is still found), and hex;
// each also lowercased, as is the body.

/** The shortest needle searched for; shorter ones would match by chance. */
export const MIN_NEEDLE = 6;

/** The core of the base64 text of `bytes` when they start at byte offset `shift` (mod 3) of a
 *  larger buffer: only the characters every such embedding shares. */
function base64Core(bytes, shift, url) {
  const padded = Buffer.concat([Buffer.alloc(shift), bytes]);
  let text = padded.toString(url ? 'base64url' : 'base64');
  // Whole groups made only of `bytes`: skip the group holding the shift, drop the tail group.
  const firstGroup = shift === 0 ? 0 : 1;
  const lastGroup = Math.floor(padded.length / 3);
  text = text.slice(firstGroup * 4, lastGroup * 4);
  return text;
}

/** Every form of `plain` to look for, each with a label for the failure message. */
export function encodings(plain) {
  const bytes = Buffer.from(plain, 'utf8');
  const forms = [
    ['utf8', plain],
    ['json', JSON.stringify(plain).slice(1, -1)],
    ['hex', bytes.toString('hex')],
    ['HEX', bytes.toString('hex').toUpperCase()],
  ];
  for (const shift of [0, 1, 2]) {
    forms.push([`base64@${shift}`, base64Core(bytes, shift, false)]);
    forms.push([`base64url@${shift}`, base64Core(bytes, shift, true)]);
  }
  return forms.filter(([, text]) => text.length >= MIN_NEEDLE);
}

/**
 * Searches `requests` (`{ method, path, body }`) for each of `secrets` (`{ label, value }`),
 * also line by line for multi-line values. Returns the hits: `{ label, form, request }`.
 */
export function findPlaintext(requests, secrets) {
  const haystacks = requests.map((r) => {
    const text = `${r.path}\n${r.body.toString('latin1')}\n${r.body.toString('utf8')}`;
    return { r, text, lower: text.toLowerCase() };
  });
  const hits = [];
  for (const { label, value } of secrets) {
    const parts = new Set([value, ...value.split(/\r?\n/).map((l) => l.trim())]);
    for (const part of parts) {
      if (part.length < MIN_NEEDLE) continue;
      for (const variant of new Set([part, part.toLowerCase()])) {
        for (const [form, needle] of encodings(variant)) {
          const n = needle.toLowerCase();
          for (const h of haystacks) {
            if (h.text.includes(needle) || h.lower.includes(n)) {
              hits.push({ label, form, request: `${h.r.method} ${h.r.path}` });
            }
          }
        }
      }
    }
  }
  return hits;
}
