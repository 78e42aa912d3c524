// A throwaway OpenLDAP server (Debian's slapd) for LDAP login and raw-TCP tests: its own slapd.conf, mdb
// database and pid file in a temp dir, loaded with slapadd before start, listening on 127.0.0.1 only.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, isPortOpen } from './ports.js';
import { run, startProcess } from './processes.js';

export const SLAPD_BIN = '/usr/sbin/slapd';
export const SLAPADD_BIN = '/usr/sbin/slapadd';
const LDAPWHOAMI_BIN = '/usr/bin/ldapwhoami';
const SCHEMA_DIR = '/etc/ldap/schema';
const MODULE_DIR = '/usr/lib/ldap';

export const BASE_DN = 'dc=example,dc=com';
export const ADMIN_DN = `cn=admin,${BASE_DN}`;
export const ADMIN_PASSWORD = 'admin-secret';
export const PEOPLE_DN = `ou=people,${BASE_DN}`;
export const GROUPS_DN = `ou=groups,${BASE_DN}`;
/** A read-only service account for applications that search before they bind (the dashboard's LDAP sign-in). */
export const SERVICE_DN = `cn=dashboard-svc,${BASE_DN}`;
export const SERVICE_PASSWORD = 'service-secret';

export type UserName = 'alice' | 'bob' | 'carol' | 'dave';
export type GroupName = 'soc-analysts' | 'admins' | 'contractors' | 'globex-viewers';

export interface LdapUser {
  readonly uid: UserName;
  readonly dn: string;
  readonly password: string;
  readonly cn: string;
  readonly mail: string;
  /** Groups (groupOfNames under ou=groups) whose `member` lists this user. */
  readonly groups: readonly GroupName[];
}

export const USERS: Readonly<Record<UserName, LdapUser>> = {
  alice: {
    uid: 'alice',
    dn: `uid=alice,${PEOPLE_DN}`,
    password: 'alice-password',
    cn: 'Alice Analyst',
    mail: 'alice@example.com',
    groups: ['soc-analysts'],
  },
  bob: { uid: 'bob', dn: `uid=bob,${PEOPLE_DN}`, password: 'bob-password', cn: 'Bob Admin', mail: 'bob@example.com', groups: ['admins'] },
  /** In a group that applications usually do not map to anything. */
  carol: { uid: 'carol', dn: `uid=carol,${PEOPLE_DN}`, password: 'carol-password', cn: 'Carol Contractor', mail: 'carol@example.com', groups: ['contractors'] },
  /** In two groups, for role and scope merging. */
  dave: { uid: 'dave', dn: `uid=dave,${PEOPLE_DN}`, password: 'dave-password', cn: 'Dave Double', mail: 'dave@example.com', groups: ['soc-analysts', 'globex-viewers'] },
};

export const GROUPS: Readonly<Record<GroupName, string>> = {
  'soc-analysts': `cn=soc-analysts,${GROUPS_DN}`,
  admins: `cn=admins,${GROUPS_DN}`,
  contractors: `cn=contractors,${GROUPS_DN}`,
  'globex-viewers': `cn=globex-viewers,${GROUPS_DN}`,
};

export interface Slapd {
  readonly port: number;
  /** `ldap://127.0.0.1:PORT` */
  readonly url: string;
  readonly baseDn: string;
  readonly adminDn: string;
  readonly adminPassword: string;
  readonly peopleDn: string;
  readonly groupsDn: string;
  readonly serviceDn: string;
  readonly servicePassword: string;
  readonly users: typeof USERS;
  readonly groups: typeof GROUPS;
  stop(): Promise<void>;
}

/** Salted SHA-1, the scheme slapd checks natively, so the test data holds no plain-text passwords. */
function ssha(password: string): string {
  const salt = randomBytes(8);
  const digest = createHash('sha1').update(password).update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}

function ldif(): string {
  const entries = [
    `dn: ${BASE_DN}\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example Corp`,
    `dn: ${PEOPLE_DN}\nobjectClass: organizationalUnit\nou: people`,
    `dn: ${GROUPS_DN}\nobjectClass: organizationalUnit\nou: groups`,
    `dn: ${SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: dashboard-svc\nuserPassword: ${ssha(SERVICE_PASSWORD)}`,
    ...Object.values(USERS).map((u) =>
      [
        `dn: ${u.dn}`,
        'objectClass: inetOrgPerson',
        `uid: ${u.uid}`,
        `cn: ${u.cn}`,
        `sn: ${u.cn.split(' ').pop() ?? u.uid}`,
        `mail: ${u.mail}`,
        `userPassword: ${ssha(u.password)}`,
      ].join('\n'),
    ),
    ...Object.entries(GROUPS).map(([name, dn]) =>
      [
        `dn: ${dn}`,
        'objectClass: groupOfNames',
        `cn: ${name}`,
        ...Object.values(USERS)
          .filter((u) => u.groups.includes(name as GroupName))
          .map((u) => `member: ${u.dn}`),
      ].join('\n'),
    ),
  ];
  return `${entries.join('\n\n')}\n`;
}

function slapdConf(dir: string): string {
  return `include ${SCHEMA_DIR}/core.schema
include ${SCHEMA_DIR}/cosine.schema
include ${SCHEMA_DIR}/inetorgperson.schema
include ${SCHEMA_DIR}/nis.schema
pidfile ${dir}/slapd.pid
argsfile ${dir}/slapd.args
modulepath ${MODULE_DIR}
moduleload back_mdb
database mdb
maxsize 67108864
suffix "${BASE_DN}"
rootdn "${ADMIN_DN}"
rootpw ${ADMIN_PASSWORD}
directory ${dir}/db
index objectClass eq
index uid,member eq
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
`;
}

export async function startSlapd(options: { port?: number } = {}): Promise<Slapd> {
  const dir = await mkdtemp(join(tmpdir(), 'tw-slapd-'));
  try {
    await mkdir(join(dir, 'db'), { mode: 0o700 });
    const conf = join(dir, 'slapd.conf');
    await writeFile(conf, slapdConf(dir));
    await writeFile(join(dir, 'data.ldif'), ldif());
    const added = await run(SLAPADD_BIN, ['-f', conf, '-b', BASE_DN, '-l', join(dir, 'data.ldif')]);
    if (added.code !== 0) throw new Error(`slapadd failed (code ${added.code}):\n${added.stdout}${added.stderr}`);
    const port = options.port ?? (await freePort());
    const url = `ldap://127.0.0.1:${port}`;
    // -d 0: stay in the foreground (no fork) without debug output; errors still reach stderr.
    const proc = await startProcess(SLAPD_BIN, ['-f', conf, '-h', `${url}/`, '-d', '0'], {
      // Binding as our own rootdn tells this instance apart from anything else that may hold the port.
      readyWhen: async () =>
        (await isPortOpen(port)) &&
        (await run(LDAPWHOAMI_BIN, ['-x', '-H', url, '-D', ADMIN_DN, '-w', ADMIN_PASSWORD], { timeoutMs: 5000 })).code === 0,
      pollMs: 100,
      timeoutMs: 10_000,
    });
    return {
      port,
      url,
      baseDn: BASE_DN,
      adminDn: ADMIN_DN,
      adminPassword: ADMIN_PASSWORD,
      peopleDn: PEOPLE_DN,
      groupsDn: GROUPS_DN,
      serviceDn: SERVICE_DN,
      servicePassword: SERVICE_PASSWORD,
      users: USERS,
      groups: GROUPS,
      async stop() {
        await proc.stop('SIGTERM');
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
