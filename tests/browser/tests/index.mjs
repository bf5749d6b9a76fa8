// Every suite, in the order they run.
import clinic from './clinic.mjs';
import tamper from './tamper.mjs';

export const suites = [tamper, clinic];
