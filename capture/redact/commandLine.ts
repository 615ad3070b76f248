import { SENSITIVE_NAME_PATTERN, CREDENTIAL_HEADERS } from './names.js';

/** Command-line flags whose next value (or `=value`) is a secret: --os-password x, --token=x, ... */
const SECRET_FLAG_RULE = new RegExp(`(--?${SENSITIVE_NAME_PATTERN}(?:=| ))(\\S+)`, 'gi');
/** "Header: value" arguments, as in curl -H 'X-Auth-Token: x'. */
const SECRET_HEADER_ARG_RULE = new RegExp(`((?:${[...CREDENTIAL_HEADERS, SENSITIVE_NAME_PATTERN].join('|')})\\s*:\\s*)(\\S+)`, 'gi');
/** scheme://user:password@ in an argument (a database or message-bus URL). */
const URL_PASSWORD_RULE = /([A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s:/@]*:)([^\s/@]+)(@)/g;

/**
 * Process command lines go to processes.parquet and the manifest: credentials passed as arguments are replaced
 * with '*' of the same length.
 */
export function redactCommandLine(cmdline: string): string {
  return cmdline
    .replace(SECRET_FLAG_RULE, (_m, flag: string, value: string) => flag + '*'.repeat(value.length))
    .replace(SECRET_HEADER_ARG_RULE, (_m, name: string, value: string) => name + '*'.repeat(value.length))
    .replace(URL_PASSWORD_RULE, (_m, head: string, pw: string, at: string) => head + '*'.repeat(pw.length) + at);
}

/** A flag alone in its argument (`--os-password`): the next argument is its value. */
const SECRET_FLAG_ALONE = new RegExp(`^--?${SENSITIVE_NAME_PATTERN}$`, 'i');

/** The same for an argument vector (the manifest's recorded command): each argument, and the value after a secret flag. */
export function redactArgv(argv: string[]): string[] {
  return argv.map((arg, i) => (i > 0 && SECRET_FLAG_ALONE.test(argv[i - 1]!) ? '*'.repeat(arg.length) : redactCommandLine(arg)));
}
