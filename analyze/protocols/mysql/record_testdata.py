#!/usr/bin/python3
"""Records real MySQL-protocol exchanges (pymysql -> MariaDB) into testdata.ts (run by hand; tests read testdata.ts).

Needs mariadb-server and python3-pymysql (Debian). Start a throwaway server with a user nova/labpass on databases
nova and placement, e.g. mariadbd --no-defaults --datadir=/tmp/x --port=13306 --bind-address=127.0.0.1 &
then: /usr/bin/python3 analyze/protocols/mysql/record_testdata.py 13306
A loopback proxy between client and server records every recv() per direction (see ../recording_proxy.py).
The password scramble in the recorded handshake is for a throwaway account.
"""
import os, sys, time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # analyze/protocols/
from recording_proxy import RecordingProxy, emit_ts  # noqa: E402


def main():
    import pymysql  # python3-pymysql

    upstream = int(sys.argv[1])
    proxy = RecordingProxy(upstream)
    exchanges = []
    conn = pymysql.connect(host='127.0.0.1', port=proxy.port, user='nova', password='labpass', database='nova', autocommit=True)
    exchanges.append(('handshake', 'pymysql 1.0.2 connecting to MariaDB 10.11: greeting, handshake response (mysql_native_password), OK', proxy.take()))
    cur = conn.cursor()
    cur.execute('DROP TABLE IF EXISTS instances')
    cur.execute('CREATE TABLE instances (id INT PRIMARY KEY AUTO_INCREMENT, uuid CHAR(36), host VARCHAR(255), vm_state VARCHAR(255), deleted INT DEFAULT 0)')
    proxy.take()
    conn.begin()
    cur.executemany('INSERT INTO instances (uuid, host, vm_state) VALUES (%s, %s, %s)',
                    [(f'00000000-0000-4000-8000-{i:012d}', 'compute-1', 'active') for i in range(3)])
    cur.execute("UPDATE instances SET vm_state = 'stopped' WHERE id = 2")
    conn.commit()
    cur.execute('SELECT instances.id, instances.uuid, instances.host, instances.vm_state FROM instances WHERE instances.deleted = %s AND instances.host = %s', (0, 'compute-1'))
    cur.fetchall()
    try:
        cur.execute('SELECT * FROM no_such_table')
    except pymysql.MySQLError:
        pass
    conn.ping()
    conn.select_db('placement')
    exchanges.append(('queries', 'BEGIN, INSERT x3, UPDATE, COMMIT, a 3-row SELECT, an ERR 1146 (no such table), COM_PING, COM_INIT_DB', proxy.take()))
    conn.select_db('nova')
    cur.executemany('INSERT INTO instances (uuid, host, vm_state) VALUES (%s, %s, %s)',
                    [(f'11111111-0000-4000-8000-{i:012d}', 'compute-2', 'building') for i in range(200)])
    proxy.take()
    cur.execute('SELECT * FROM instances')
    cur.fetchall()
    exchanges.append(('bigResultSet', 'SELECT * over 203 rows: a result set of several KB read in several chunks', proxy.take()))

    # Server-side prepared statements (pymysql has no API for them): raw COM_STMT_PREPARE / EXECUTE / CLOSE.
    sock = conn._sock
    def command(payload, reply=True):
        sock.sendall(len(payload).to_bytes(3, 'little') + b'\x00' + payload)
        time.sleep(0.2)
        return sock.recv(65536) if reply else b''
    prepared = command(b'\x16' + b'SELECT uuid, host FROM instances WHERE id = ?')  # COM_STMT_PREPARE
    stmt_id = prepared[5:9]
    # COM_STMT_EXECUTE: stmt id, flags 0, iteration count 1, null bitmap, new-params-bound 1, type LONGLONG, value 2
    command(b'\x17' + stmt_id + b'\x00' + b'\x01\x00\x00\x00' + b'\x00' + b'\x01' + b'\x08\x00' + (2).to_bytes(8, 'little'))
    command(b'\x19' + stmt_id, reply=False)  # COM_STMT_CLOSE: no reply
    command(b'\x0e')  # COM_PING after the reply-less close
    exchanges.append(('preparedStatements', 'COM_STMT_PREPARE, COM_STMT_EXECUTE (binary row), COM_STMT_CLOSE (no reply), COM_PING', proxy.take()))
    conn.close()  # COM_QUIT
    exchanges.append(('quit', 'COM_QUIT: no reply, the server closes', proxy.take()))

    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'testdata.ts')
    emit_ts(out, f'MariaDB 10.11 + pymysql 1.0.2 on loopback, recorded {time.strftime("%Y-%m-%d")}', exchanges)
    print('wrote', out)


if __name__ == '__main__':
    main()
