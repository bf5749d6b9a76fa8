// Finnish personal identity codes for test patients: always a temporary one (individual number
// 900–999, never issued to a person), with the real check character.

const CHECK = '0123456789ABCDEFHJKLMNPRSTUVWXY';

/** The code for a birth date and an individual number from 900 to 999. */
export function temporaryHetu(year, month, day, individual) {
  if (individual < 900 || individual > 999) throw new Error('use a temporary individual number (900–999)');
  const century = year >= 2000 ? 'A' : '-';
  const pad = (n, w) => String(n).padStart(w, '0');
  const digits = `${pad(day, 2)}${pad(month, 2)}${pad(year % 100, 2)}${pad(individual, 3)}`;
  return `${digits.slice(0, 6)}${century}${digits.slice(6)}${CHECK[Number(digits) % 31]}`;
}
