/**
 * Executables standing in for apt-get, dnf, apk and systemctl: small sh scripts in a directory
 * that the config's fleet.path points at. Each records its argv in calls.log and prints what the
 * real tool prints for that case (the outputs below are taken from real Debian 12, RHEL 9,
 * Fedora 40 and Alpine 3.20 hosts).
 */
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface FakeTools {
  dir: string;
  /** "name arg1 arg2" per call, in order. */
  calls(): string[];
  /** Writes (or replaces) a tool: `cases` maps a shell `case` pattern on "$*" to its output and exit code. */
  tool(name: string, cases: Array<{ when: string; stdout?: string; stderr?: string; exit?: number; sleep?: number }>): void;
  reset(): void;
}

/** A `case` pattern: the literal parts quoted (spaces, dashes), every * left a wildcard. */
function casePattern(when: string): string {
  return when.split("*").map((part) => (part ? quote(part) : "")).join("*") || "*";
}

function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export function fakeTools(dir: string): FakeTools {
  mkdirSync(dir, { recursive: true });
  const log = join(dir, "calls.log");
  return {
    dir,
    calls: () => {
      try {
        return readFileSync(log, "utf8").split("\n").filter(Boolean);
      } catch {
        return [];
      }
    },
    tool(name, cases) {
      const branches = cases
        .map(({ when, stdout, stderr, exit, sleep }) =>
          [
            `  ${casePattern(when)})`,
            stdout !== undefined ? `    printf '%s' ${quote(stdout)}` : "",
            stderr !== undefined ? `    printf '%s' ${quote(stderr)} >&2` : "",
            sleep !== undefined ? `    exec /bin/sleep ${sleep}` : "",
            `    exit ${exit ?? 0};;`,
          ]
            .filter(Boolean)
            .join("\n"),
        )
        .join("\n");
      const script = `#!/bin/sh\nprintf '%s\\n' "${name} $*" >> ${quote(log)}\ncase "$*" in\n${branches}\n  *) printf 'unexpected call: %s\\n' "$*" >&2; exit 64;;\nesac\n`;
      const path = join(dir, name);
      writeFileSync(path, script);
      chmodSync(path, 0o755);
    },
    reset() {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
    },
  };
}

export const APT_SIMULATE_INSTALL = `NOTE: This is only a simulation!
      apt-get needs root privileges for real execution.
      Keep also in mind that locking is deactivated,
      so don't depend on the relevance to the real current situation!
Reading package lists...
Building dependency tree...
Reading state information...
The following additional packages will be installed:
  nginx-common
Suggested packages:
  fcgiwrap nginx-doc ssl-cert
The following NEW packages will be installed:
  nginx nginx-common
0 upgraded, 2 newly installed, 0 to remove and 3 not upgraded.
Inst nginx-common (1.22.1-9+deb12u1 Debian:12.9/stable, Debian-Security:12/stable-security [all])
Inst nginx (1.22.1-9+deb12u1 Debian:12.9/stable, Debian-Security:12/stable-security [amd64])
Conf nginx-common (1.22.1-9+deb12u1 Debian:12.9/stable, Debian-Security:12/stable-security [all])
Conf nginx (1.22.1-9+deb12u1 Debian:12.9/stable, Debian-Security:12/stable-security [amd64])
`;

export const APT_INSTALL = `Reading package lists...
Building dependency tree...
Reading state information...
curl is already the newest version (7.88.1-10+deb12u8).
The following NEW packages will be installed:
  nginx nginx-common
0 upgraded, 2 newly installed, 0 to remove and 3 not upgraded.
Need to get 640 kB of archives.
After this operation, 1696 kB of additional disk space will be used.
Get:1 http://deb.debian.org/debian-security bookworm-security/main amd64 nginx-common all 1.22.1-9+deb12u1 [112 kB]
Get:2 http://deb.debian.org/debian-security bookworm-security/main amd64 nginx amd64 1.22.1-9+deb12u1 [528 kB]
Fetched 640 kB in 0s (5112 kB/s)
Selecting previously unselected package nginx-common.
(Reading database ... 7581 files and directories currently installed.)
Preparing to unpack .../nginx-common_1.22.1-9+deb12u1_all.deb ...
Unpacking nginx-common (1.22.1-9+deb12u1) ...
Selecting previously unselected package nginx.
Preparing to unpack .../nginx_1.22.1-9+deb12u1_amd64.deb ...
Unpacking nginx (1.22.1-9+deb12u1) ...
Setting up nginx-common (1.22.1-9+deb12u1) ...
Setting up nginx (1.22.1-9+deb12u1) ...
Processing triggers for man-db (2.11.2-2) ...
`;

export const APT_SIMULATE_UPGRADE = `Reading package lists...
Building dependency tree...
Reading state information...
Calculating upgrade...
The following packages will be upgraded:
  libssl3 openssl tzdata
3 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.
Inst libssl3 [3.0.15-1~deb12u1] (3.0.16-1~deb12u1 Debian-Security:12/stable-security [amd64])
Inst openssl [3.0.15-1~deb12u1] (3.0.16-1~deb12u1 Debian-Security:12/stable-security [amd64]) []
Inst tzdata [2024a-0+deb12u1] (2025a-0+deb12u1 Debian:12.9/stable-updates [all])
Conf libssl3 (3.0.16-1~deb12u1 Debian-Security:12/stable-security [amd64])
Conf openssl (3.0.16-1~deb12u1 Debian-Security:12/stable-security [amd64])
Conf tzdata (2025a-0+deb12u1 Debian:12.9/stable-updates [all])
`;

export const APT_UPDATE = `Hit:1 http://deb.debian.org/debian bookworm InRelease
Get:2 http://deb.debian.org/debian bookworm-updates InRelease [55.4 kB]
Get:3 http://deb.debian.org/debian-security bookworm-security InRelease [48.0 kB]
Fetched 103 kB in 0s (412 kB/s)
Reading package lists...
`;

export const DNF_ASSUMENO_INSTALL = `Last metadata expiration check: 0:12:01 ago on Mon 02 Dec 2024 10:00:00 AM UTC.
Dependencies resolved.
================================================================================
 Package                 Arch       Version                  Repository     Size
================================================================================
Installing:
 nginx                   x86_64     1:1.20.1-16.el9_4.1      appstream      36 k
Installing dependencies:
 nginx-core              x86_64     1:1.20.1-16.el9_4.1      appstream     566 k
 nginx-filesystem        noarch     1:1.20.1-16.el9_4.1      appstream     8.4 k
 redhat-logos-httpd      noarch     90.4-2.el9               appstream      18 k

Transaction Summary
================================================================================
Install  4 Packages

Total download size: 629 k
Installed size: 1.8 M
`;

export const DNF4_SECURITY = `RHSA-2024:9474 Important/Sec. openssl-1:3.0.7-29.el9_4.x86_64
RHSA-2024:9474 Important/Sec. openssl-libs-1:3.0.7-29.el9_4.x86_64
RHSA-2024:10232 Moderate/Sec.  curl-7.76.1-29.el9_4.1.x86_64
`;

export const DNF5_SECURITY = `Name                   Type        Severity                   Package              Issued
FEDORA-2024-4b8a9d3f4e security    Moderate    curl-8.6.0-10.fc40.x86_64 2024-11-20 01:32:45
FEDORA-2024-7c1d2e3f4a security    Important   glibc-2.39-22.fc40.x86_64 2024-11-28 02:11:09
`;

export const APK_SIMULATE_ADD = `(1/3) Installing pcre (8.45-r3)
(2/3) Installing nginx (1.26.2-r4)
Executing nginx-1.26.2-r4.pre-install
(3/3) Installing nginx-openrc (1.26.2-r4)
OK: 10 MiB in 18 packages
`;

export const APK_UPGRADABLE = `busybox-1.36.1-r31 x86_64 {busybox} (GPL-2.0-only) [upgradable from: busybox-1.36.1-r29]
libcrypto3-3.3.2-r1 x86_64 {openssl} (Apache-2.0) [upgradable from: libcrypto3-3.3.1-r3]
`;

export const SYSTEMCTL_SHOW_RUNNING = `Id=nginx.service
LoadState=loaded
ActiveState=active
SubState=running
UnitFileState=enabled
MainPID=1234
ActiveEnterTimestamp=Mon 2024-12-02 10:00:00 UTC
`;

export const SYSTEMCTL_SHOW_NOT_FOUND = `Id=nosuch.service
LoadState=not-found
ActiveState=inactive
SubState=dead
UnitFileState=
MainPID=0
ActiveEnterTimestamp=
`;
