import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactOne, redactStream, splits } from '../../testing/redactTestkit.js';

/** A COM_QUERY packet as PyMySQL sends it: 3-byte length, sequence id 0, command 3, the SQL with literals inlined. */
const q = (sql: string) => String.fromCharCode(sql.length + 1 & 0xff, (sql.length + 1) >> 8 & 0xff, 0, 0, 3) + sql;
const s = (n: number) => '*'.repeat(n);
const BCRYPT = '$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW';

/** [statement, input, expected]: literals of sensitive columns, whatever the statement. */
const CASES: [string, string, string][] = [
  ['INSERT column list, several rows', q(`INSERT INTO password (local_user_id, password_hash, created_at) VALUES (3, '${BCRYPT}', '2026-11-27'), (4, 'x''y\\'z', now())`),
    q(`INSERT INTO password (local_user_id, password_hash, created_at) VALUES (3, '${s(60)}', '2026-11-27'), (4, '${s(7)}', now())`)],
  ['INSERT with backquotes and a number', q('INSERT INTO `t` (`id`, `secret`, `n`) VALUES (1, 12345, 2)'), q('INSERT INTO `t` (`id`, `secret`, `n`) VALUES (1, 99999, 2)')],
  ['INSERT of a non-sensitive table named credential', q("INSERT INTO credential (id, user_id, type) VALUES ('ab12', 'u1', 'ec2')"), q("INSERT INTO credential (id, user_id, type) VALUES ('ab12', 'u1', 'ec2')")],
  ['UPDATE SET', q("UPDATE user SET password = 'hunter2', name = 'bob' WHERE id = 1"), q("UPDATE user SET password = '*******', name = 'bob' WHERE id = 1")],
  ['WHERE on a sensitive column, table-qualified', q("SELECT 1 FROM access_token WHERE access_token.access_secret = 'abc' AND access_token.id = 'x'"),
    q("SELECT 1 FROM access_token WHERE access_token.access_secret = '***' AND access_token.id = 'x'")],
  ['a table named password is not a column', q('SELECT password.id FROM password WHERE password.local_user_id = 5'), q('SELECT password.id FROM password WHERE password.local_user_id = 5')],
  ['SET PASSWORD = PASSWORD()', q("SET PASSWORD FOR 'u'@'%' = PASSWORD('x1')"), q("SET PASSWORD FOR 'u'@'%' = PASSWORD('**')")],
  ['CREATE USER IDENTIFIED BY', q("CREATE USER IF NOT EXISTS 'nova'@'%' IDENTIFIED BY 'labpass'"), q("CREATE USER IF NOT EXISTS 'nova'@'%' IDENTIFIED BY '*******'")],
  ['ALTER USER IDENTIFIED VIA ... USING', q("ALTER USER 'a'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('pw')"), q("ALTER USER 'a'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('**')")],
  ['no literal, nothing to do', q('SELECT password.password_hash AS password_password_hash FROM password'), q('SELECT password.password_hash AS password_password_hash FROM password')],
];

for (const [what, input, expected] of CASES) {
  test(`SQL: ${what}`, () => {
    const out = redactOne(input);
    assert.equal(out, expected);
    assert.equal(out.length, input.length);
  });
  test(`SQL split across syscalls: ${what}`, () => {
    const whole = redactOne(input);
    for (const [how, parts] of splits(input, 3)) assertSameRedaction(redactStream(parts), whole, how);
  });
}

/**
 * Equal, except that a split right after a quote inside a sensitive literal can leave that quote unmasked: whether
 * it closed the literal or starts a doubled '' is only known after the split, when the earlier payload is already
 * written. A quote carries nothing of the secret; what follows it is masked either way.
 */
function assertSameRedaction(actual: string, expected: string, how: string): void {
  assert.equal(actual.length, expected.length, how);
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i] && !(actual[i] === "'" && expected[i] === '*')) assert.equal(actual, expected, `${how}, at ${i}`);
  }
}
