"""A real WordPress on 127.0.0.1 for the live connector test: Debian's packages, MariaDB, Apache.

`start()` gives a fresh, empty blog on every call and returns a `Site` that can post comments the
way a visitor and the owner would. The steps, each reusing what an earlier run left:

1. **Packages**: ``wordpress apache2 libapache2-mod-php php-mysql`` (and ``mariadb-server`` if it
   is missing) from Debian with ``apt-get install`` (non-interactive, with a timeout; ``apt-get
   update`` only when the package lists do not know them). This is the only step allowed to fail
   softly: `Unavailable` says why, and the test skips with that reason. Every later problem is a
   `SetupError`, a failure.
2. **MariaDB**: started if it does not answer; the test database is dropped and created anew, so
   every run starts from an empty blog and re-running the suite needs no cleaning.
3. **WordPress's Debian config**: Debian's ``wp-config.php`` includes
   ``/etc/wordpress/config-<host>.php``, or ``config-$WORDPRESS_CONFIG.php`` when the web server
   sets that variable. We use the variable (``config-sameday-test.php``), so a developer's own
   WordPress on 127.0.0.1 is never taken over. The config sets ``WP_ENVIRONMENT_TYPE`` to
   ``local`` (WordPress accepts application passwords over plain http only then; a flag file
   switches it to ``production`` for the test of that refusal), disables cron, automatic updates
   and every outside HTTP call, and points ``WPMU_PLUGIN_DIR`` at a must-use plugin of ours that
   allows anonymous REST comments (``rest_allow_anonymous_comments``), relaxes the comment-flood
   check (a test posts many comments a second from one address) and sends no mail.
4. **Apache**: a private instance, with its own config, pid file and logs under `STATE_DIR`, on a
   free port of 127.0.0.1. The system's apache2 service, its sites and port 80 are never touched,
   so nothing else on the machine is disturbed. Stopped by `stop()`.
5. **WordPress itself**: the installer over HTTP (``wp-admin/install.php?step=2``), then a few
   options and an application password for the owner through WordPress's own PHP API
   (``WP_Application_Passwords::create_new_application_password``) with PHP's CLI.

The first run on a machine takes about 30 s, most of it apt-get; later ones about 3 s.

By hand: ``python -m tests.wordpress_setup`` starts a blog and prints its address and the owner's
credentials; ``python -m tests.wordpress_setup --stop`` stops its Apache.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

PACKAGES = ("wordpress", "apache2", "libapache2-mod-php", "php-mysql")
STATE_DIR = Path("/var/lib/sameday-wordpress-test")
CONFIG_NAME = "sameday-test"  # Debian's wp-config.php reads /etc/wordpress/config-<this>.php
CONFIG_FILE = Path(f"/etc/wordpress/config-{CONFIG_NAME}.php")
WORDPRESS_DIR = Path("/usr/share/wordpress")
APACHE_MODULES = Path("/usr/lib/apache2/modules")
DATABASE = "sameday_wp_test"
DB_USER = "sameday_wp_test"
OWNER = "dana"  # the blog's administrator; their display name is the same
OWNER_EMAIL = "dana@example.com"
TITLE = "Dana's Coffee"
APT_TIMEOUT_S = 900
_MARIADBD = Path("/usr/sbin/mariadbd")


class Unavailable(Exception):
    """The packages cannot be installed here: the live test skips, saying this."""


class SetupError(Exception):
    """Everything is installed but the blog could not be set up: the live test fails."""


# -- 1. packages ----------------------------------------------------------------------------------


def _missing_packages() -> list[str]:
    wanted = [*PACKAGES, *(() if _MARIADBD.exists() else ("mariadb-server",))]
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package} ${db:Status-Abbrev}\n", *wanted],
        capture_output=True,
        text=True,
        check=False,
    )
    installed = {
        line.split()[0]
        for line in done.stdout.splitlines()
        if len(line.split()) > 1 and line.split()[1] == "ii"
    }
    return [p for p in wanted if p not in installed]


def _apt_install(packages: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        return subprocess.run(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
            capture_output=True,
            text=True,
            env=env,
            timeout=APT_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise Unavailable(
            f"apt-get install {' '.join(packages)} took longer than {APT_TIMEOUT_S} s"
        ) from None


def ensure_packages() -> None:
    """Install what is missing, or raise `Unavailable` saying why it cannot be."""
    if shutil.which("dpkg-query") is None:
        raise Unavailable("not a Debian system (no dpkg): cannot install Debian's wordpress")
    missing = _missing_packages()
    if not missing:
        return
    if shutil.which("apt-get") is None:
        raise Unavailable(f"{' '.join(missing)} not installed, and there is no apt-get")
    if os.geteuid() != 0:
        raise Unavailable(f"{' '.join(missing)} not installed, and installing needs root")
    done = _apt_install(missing)
    if done.returncode != 0 and (
        "Unable to locate package" in done.stderr or "no installation candidate" in done.stderr
    ):
        # The package lists are missing or stale (a fresh image): fetch them once, then retry.
        subprocess.run(
            ["apt-get", "update", "-q"],
            capture_output=True,
            timeout=APT_TIMEOUT_S,
            check=False,
        )
        done = _apt_install(missing)
    if done.returncode != 0:
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise Unavailable(f"apt-get install {' '.join(missing)} failed: {tail}")


# -- 2. MariaDB -----------------------------------------------------------------------------------


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _wait_for_port(port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _port_open(port):
            return True
        time.sleep(0.1)
    return False


def ensure_mariadb() -> None:
    """Start MariaDB as the machine notes say, if it is not answering on 127.0.0.1:3306."""
    if _port_open(3306):
        return
    run_dir = Path("/run/mysqld")
    run_dir.mkdir(exist_ok=True)
    shutil.chown(run_dir, "mysql", "mysql")
    subprocess.run(
        ["start-stop-daemon", "--start", "--oknodo", "--background", "--exec", str(_MARIADBD)],
        capture_output=True,
        timeout=30,
        check=False,
    )
    if not _wait_for_port(3306, 30):
        raise SetupError("MariaDB did not start (see /var/log/mysql/error.log)")


def _sql(statements: str) -> None:
    """Run SQL as MariaDB's root: over TCP with an empty password, else over the socket."""
    problems = []
    for how in (["-h", "127.0.0.1"], []):
        done = subprocess.run(
            ["mysql", "-u", "root", *how, "-e", statements],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode == 0:
            return
        problems.append(done.stderr.strip())
    raise SetupError(f"cannot run SQL as MariaDB's root: {' / '.join(problems)}")


def reset_database(password: str) -> None:
    users = [f"'{DB_USER}'@'{host}'" for host in ("127.0.0.1", "localhost")]
    _sql(
        f"DROP DATABASE IF EXISTS {DATABASE}; "
        f"CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci; "
        + "".join(
            f"CREATE USER IF NOT EXISTS {user}; ALTER USER {user} IDENTIFIED BY '{password}'; "
            f"GRANT ALL PRIVILEGES ON {DATABASE}.* TO {user}; "
            for user in users
        )
    )


# -- 3. WordPress's config and our must-use plugin ------------------------------------------------

_MU_PLUGIN = """<?php
/*
 * Plugin Name: Sameday live test
 * Description: What a fast test of comments needs and a real blog would not. Written by
 * tests/wordpress_setup.py; loaded only by the test site's config.
 */
// Visitors comment through the REST API, as the test's anonymous commenters do.
add_filter( 'rest_allow_anonymous_comments', '__return_true' );
// Many comments a second from 127.0.0.1 are the test, not a flood.
remove_filter( 'wp_is_comment_flood', 'wp_check_comment_flood', 10 );
remove_action( 'check_comment_flood', 'check_comment_flood_db', 10 );
add_filter( 'comment_flood_filter', '__return_false' );
// No mail: there is no mail server, and trying costs time on every comment.
add_filter( 'pre_wp_mail', '__return_false' );
"""


def _config_php(db_password: str) -> str:
    salts = "".join(
        f"define('{name}', '{secrets.token_hex(32)}');\n"
        for name in (
            "AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY",
            "AUTH_SALT", "SECURE_AUTH_SALT", "LOGGED_IN_SALT", "NONCE_SALT",
        )
    )  # fmt: skip
    production_flag = STATE_DIR / "production"
    return f"""<?php
// Written by Sameday's tests/wordpress_setup.py for its live WordPress test; rewritten each run.
define('DB_NAME', '{DATABASE}');
define('DB_USER', '{DB_USER}');
define('DB_PASSWORD', '{db_password}');
define('DB_HOST', '127.0.0.1');
define('DB_CHARSET', 'utf8mb4');
{salts}$table_prefix = 'wp_';
// Application passwords over plain http need a local environment; the flag file makes this a
// production site for the test of WordPress refusing them.
define('WP_ENVIRONMENT_TYPE', file_exists('{production_flag}') ? 'production' : 'local');
define('WPMU_PLUGIN_DIR', '{STATE_DIR / "mu-plugins"}');
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);  // the installer's loopback check to 127.0.0.1 still works
"""


def write_config(db_password: str) -> None:
    (STATE_DIR / "mu-plugins").mkdir(parents=True, exist_ok=True)
    (STATE_DIR / "mu-plugins" / "sameday-test.php").write_text(_MU_PLUGIN)
    (STATE_DIR / "production").unlink(missing_ok=True)
    CONFIG_FILE.write_text(_config_php(db_password))
    # Apache's workers run as www-data; nobody else needs the database password.
    shutil.chown(CONFIG_FILE, "root", "www-data")
    CONFIG_FILE.chmod(0o640)


# -- 4. Apache ------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _apache_conf(port: int) -> str:
    php = sorted(APACHE_MODULES.glob("libphp*.so"))
    if not php:
        raise SetupError(f"no PHP module for Apache in {APACHE_MODULES}")
    modules = "".join(
        f"LoadModule {name}_module {APACHE_MODULES / f'mod_{name}.so'}\n"
        for name in ("mpm_prefork", "authz_core", "dir", "mime", "env", "rewrite", "unixd")
        if (APACHE_MODULES / f"mod_{name}.so").exists()
    )
    return f"""# A private Apache for Sameday's live WordPress test (tests/wordpress_setup.py).
ServerRoot {STATE_DIR}
PidFile {STATE_DIR / "apache.pid"}
Mutex file:{STATE_DIR}
Listen 127.0.0.1:{port}
ServerName 127.0.0.1
User www-data
Group www-data
ErrorLog {STATE_DIR / "error.log"}
LogLevel warn
{modules}LoadModule php_module {php[-1]}
TypesConfig /etc/mime.types
StartServers 2
MinSpareServers 2
MaxSpareServers 4
MaxRequestWorkers 8
Timeout 30
SetEnv WORDPRESS_CONFIG {CONFIG_NAME}
DocumentRoot {WORDPRESS_DIR}
DirectoryIndex index.php
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory {WORDPRESS_DIR}>
    Options FollowSymLinks
    Require all granted
    # WordPress's own rewrite rules, so /wp-json/ works while pretty permalinks are on.
    RewriteEngine On
    RewriteBase /
    RewriteRule ^index\\.php$ - [L]
    RewriteCond %{{REQUEST_FILENAME}} !-f
    RewriteCond %{{REQUEST_FILENAME}} !-d
    RewriteRule . /index.php [L]
</Directory>
<FilesMatch "\\.php$">
    SetHandler application/x-httpd-php
</FilesMatch>
"""


def _apache_pid() -> int | None:
    """The pid of our Apache if it runs: its pid file's, and only if that process is the
    apache2 started with our config (a stale pid file may name another process by now)."""
    try:
        pid = int((STATE_DIR / "apache.pid").read_text().strip())
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    if not command or not command[0].endswith(b"apache2"):
        return None
    if str(STATE_DIR / "apache.conf").encode() not in command:
        return None
    return pid


def stop() -> None:
    """Stop our Apache (the one whose pid file is ours), if it runs; wait until it is gone."""
    pid = _apache_pid()
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _apache_pid() == pid:
        time.sleep(0.05)


def start_apache(port: int) -> None:
    stop()  # one left by an interrupted run listens on another port
    conf = STATE_DIR / "apache.conf"
    conf.write_text(_apache_conf(port))
    (STATE_DIR / "error.log").unlink(missing_ok=True)
    done = subprocess.run(
        ["apache2", "-f", str(conf), "-k", "start"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if done.returncode != 0 or not _wait_for_port(port, 15):
        log = STATE_DIR / "error.log"
        tail = log.read_text()[-800:] if log.exists() else ""
        raise SetupError(f"Apache did not start on 127.0.0.1:{port}: {done.stderr.strip()} {tail}")


# -- 5. WordPress ---------------------------------------------------------------------------------


@dataclass
class Site:
    """The test blog: its address, the owner's credentials, and what a test does with it."""

    url: str  # http://127.0.0.1:<port>, the site's address (no trailing slash)
    username: str
    password: str  # the owner's login password (wp-login.php)
    app_password: str  # the owner's application password (REST API)
    owner_id: int
    _client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30), repr=False)

    # Everything below goes through ?rest_route=, which works whatever the permalinks are.

    def rest(
        self,
        method: str,
        route: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        auth: bool = True,
    ) -> Any:
        response = self._client.request(
            method,
            f"{self.url}/",
            params={"rest_route": route, **(params or {})},
            json=body,
            auth=(self.username, self.app_password) if auth else None,
        )
        if response.status_code >= 300:
            raise SetupError(f"{method} {route}: {response.status_code} {response.text[:300]}")
        return response.json()

    def create_post(self, title: str, text: str = "") -> int:
        post = self.rest(
            "POST",
            "/wp/v2/posts",
            body={"title": title, "content": text or f"<p>{title}</p>", "status": "publish"},
        )
        return int(post["id"])

    def visitor_comment(
        self, post: int, name: str, text: str, *, parent: int = 0, date_gmt: str | None = None
    ) -> dict[str, Any]:
        """A comment as an anonymous visitor writes it (a first-time commenter is held)."""
        body: dict[str, Any] = {
            "post": post,
            "parent": parent,
            "author_name": name,
            "author_email": f"{re.sub(r'[^a-z0-9]+', '.', name.lower()).strip('.')}@example.org",
            "content": text,
        }
        if date_gmt:
            body["date_gmt"] = date_gmt
        return dict(self.rest("POST", "/wp/v2/comments", body=body, auth=False))

    def owner_comment(
        self, post: int, text: str, *, parent: int = 0, date_gmt: str | None = None
    ) -> dict[str, Any]:
        """A comment (with `parent`: a threaded reply) written by the signed-in owner."""
        body: dict[str, Any] = {"post": post, "parent": parent, "content": text}
        if date_gmt:
            body["date_gmt"] = date_gmt
        return dict(self.rest("POST", "/wp/v2/comments", body=body))

    def moderate(self, comment: int, status: str = "approved") -> None:
        self.rest("POST", f"/wp/v2/comments/{comment}", body={"status": status})

    def php(self, code: str) -> str:
        """Run PHP with WordPress loaded, as this site; returns what it printed."""
        return run_php(self.url, code)

    def permalinks(self, structure: str) -> None:
        """Set the permalink structure; "" (plain) turns /wp-json/ off, ?rest_route= stays."""
        self.php(
            f"global $wp_rewrite; $wp_rewrite->set_permalink_structure({structure!r}); "
            "flush_rewrite_rules( false );"
        )

    def production(self, on: bool) -> None:
        """Make the site a production one (no application passwords over http), or local."""
        flag = STATE_DIR / "production"
        if on:
            flag.touch()
        else:
            flag.unlink(missing_ok=True)

    def close(self) -> None:
        self._client.close()


def run_php(url: str, code: str) -> str:
    """Run `code` with WordPress loaded for the site at `url`, through PHP's CLI."""
    host = url.split("://", 1)[1]
    script = STATE_DIR / "run.php"
    script.write_text(
        "<?php\n"
        f"$_SERVER['HTTP_HOST'] = '{host}';\n"
        f"$_SERVER['WORDPRESS_CONFIG'] = '{CONFIG_NAME}';\n"
        f"require '{WORDPRESS_DIR / 'wp-load.php'}';\n"
        f"{code}\n"
    )
    done = subprocess.run(
        ["php", "-d", "display_errors=stderr", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise SetupError(f"PHP failed: {done.stderr.strip()[-800:]}")
    return done.stdout


def install(url: str) -> Site:
    """Run WordPress's installer over HTTP and prepare the owner; returns the ready site."""
    password = secrets.token_urlsafe(12)
    with httpx.Client(timeout=60) as client:
        response = client.post(
            f"{url}/wp-admin/install.php",
            params={"step": "2"},
            data={
                "weblog_title": TITLE,
                "user_name": OWNER,
                "admin_password": password,
                "admin_password2": password,
                "pw_weak": "on",
                "admin_email": OWNER_EMAIL,
                "blog_public": "0",
                "Submit": "Install WordPress",
            },
        )
    if response.status_code != 200 or "wp-login.php" not in response.text:
        raise SetupError(
            f"the WordPress installer answered {response.status_code}: {response.text[:500]}"
        )
    created = run_php(
        url,
        """
        // The owner's blog as the test expects it: New York time, so `after` really is compared
        // in local time; pretty permalinks, so /wp-json/ works; every comment in the feed.
        update_option( 'timezone_string', 'America/New_York' );
        update_option( 'gmt_offset', '' );
        update_option( 'posts_per_rss', 100 );
        update_option( 'thread_comments', 1 );
        update_option( 'comment_moderation', 0 );
        update_option( 'comment_previously_approved', 1 );
        update_option( 'comments_notify', 0 );
        update_option( 'moderation_notify', 0 );
        global $wp_rewrite;
        $wp_rewrite->set_permalink_structure( '/%postname%/' );
        flush_rewrite_rules( false );
        wp_delete_comment( 1, true );  // the installer's sample comment: the test counts comments
        $owner = get_user_by( 'login', '__OWNER__' );
        list( $password ) = WP_Application_Passwords::create_new_application_password(
            $owner->ID, array( 'name' => 'sameday-live-test' )
        );
        echo json_encode( array( 'id' => $owner->ID, 'app_password' => $password ) );
        """.replace("__OWNER__", OWNER),
    )
    try:
        owner = json.loads(created.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise SetupError(f"could not create an application password: {created[-300:]}") from None
    return Site(
        url=url,
        username=OWNER,
        password=password,
        app_password=str(owner["app_password"]),
        owner_id=int(owner["id"]),
    )


def start() -> Site:
    """A fresh, empty blog on a private Apache; `stop()` when done.

    Raises `Unavailable` when the packages cannot be installed, `SetupError` for anything else.
    """
    ensure_packages()
    if os.geteuid() != 0:
        # Like installing: writing /etc/wordpress and running Apache as www-data need root.
        raise Unavailable("setting up WordPress (its config in /etc/wordpress) needs root")
    ensure_mariadb()
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    db_password = secrets.token_hex(12)
    reset_database(db_password)
    write_config(db_password)
    port = _free_port()
    start_apache(port)
    try:
        return install(f"http://127.0.0.1:{port}")
    except BaseException:
        stop()  # no Apache left behind by a setup that failed halfway
        raise


def main(argv: list[str]) -> int:
    if "--stop" in argv:
        stop()
        return 0
    started = time.monotonic()
    try:
        site = start()
    except (Unavailable, SetupError) as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(
        f"WordPress at {site.url} (set up in {time.monotonic() - started:.1f} s)\n"
        f"owner {site.username} (user {site.owner_id}), login password {site.password}\n"
        f"application password: {site.app_password}\n"
        "stop with: python -m tests.wordpress_setup --stop"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
