"""User-given URLs (webhooks) reach public addresses only (webapp/core/outbound.py): refused when saved and again
when called, no redirects, a bounded time and answer, TLS verified against the URL's name while connecting to the
checked address. Real local servers (tests/webhook_server.py); the tests that need them opt their own loopback
address in, as an installation with intranet webhooks would."""

import socket
import ssl
import subprocess
import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.webhook_server import webhook_server
from webapp.accounts import services as account_services
from webapp.accounts.models import NotificationPreference
from webapp.core import outbound

REFUSED = [
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:6379/",
    "http://[::1]:8080/hook",
    "http://localhost/hook",
    "http://localhost./hook",
    "http://0.0.0.0/hook",
    "http://10.1.2.3/hook",
    "https://192.168.1.10/hook",
    "https://172.16.0.1/hook",
    "https://100.64.0.1/hook",  # shared (carrier-grade NAT)
    "https://[fd00::1]/hook",  # unique-local
    "https://[fe80::1]/hook",  # link-local
    "http://224.0.0.1/hook",  # multicast
    "http://240.0.0.1/hook",  # reserved
    "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped loopback
    "http://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 of the metadata address
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://printer/hook",  # a name without a dot: the intranet's
    "http://2130706433/hook",  # 127.0.0.1 as one number
    "http://0x7f.1/hook",  # 127.0.0.1 as inet_aton reads it
    "https://user:secret@hooks.example/hook",
    " https://hooks.example/hook",
    "https://hooks.example/hook ",
    "ftp://hooks.example/hook",
    "https://hooks.example:99999/hook",
]
PUBLIC = ["https://93.184.215.14/hook", "http://8.8.8.8:8080/x?y=1", "https://[2606:4700:4700::1111]/hook"]


@pytest.fixture
def loopback_allowed(settings):
    """What an installation with intranet webhooks does: name the networks it allows."""
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]


@pytest.fixture
def resolving(monkeypatch):
    """Names the test resolves itself (no DNS here): the fault injection is socket.getaddrinfo, the OS boundary."""
    names: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in names:
            return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                    for a in names[host]]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


@pytest.mark.parametrize("url", REFUSED)
def test_internal_addresses_names_credentials_and_spaces_are_refused(url):
    with pytest.raises(outbound.OutboundRefused):
        outbound.url_check(url)


def test_the_service_refuses_them_when_saving_and_changes_nothing(ann):
    for url in REFUSED:
        with pytest.raises(ValidationError):
            account_services.notification_preference_set(user=ann, email=False, webhook_url=url)
    assert not NotificationPreference.objects.filter(user=ann).exists()


@pytest.mark.parametrize("url", PUBLIC)
def test_public_addresses_ip_literals_included_are_accepted(url):
    assert outbound.url_check(url) == ""


def test_the_page_refuses_the_metadata_address_with_the_reason_and_keeps_the_old_choice(client_for, ann):
    account_services.notification_preference_set(user=ann, email=True)
    client = client_for(ann)
    for url in ("http://169.254.169.254/latest/meta-data/", " https://hooks.example/x", "https://u:p@hooks.example/x"):
        response = client.post(reverse("accounts:notifications"), {"webhook_url": url})
        assert response.status_code == 200 and b"has-error" in response.content
    page = response.content.decode()
    assert "user name or password" in page
    assert NotificationPreference.objects.get(user=ann).webhook_url == ""


def test_a_name_that_does_not_resolve_now_is_saved_with_a_warning(client_for, ann):
    client = client_for(ann)
    response = client.post(reverse("accounts:notifications"), {"webhook_url": "https://hooks.example/menagerie"},
                           follow=True)
    assert "does not resolve now" in response.content.decode()
    assert NotificationPreference.objects.get(user=ann).webhook_url == "https://hooks.example/menagerie"


def test_a_name_resolving_to_an_internal_address_among_public_ones_is_refused(resolving):
    resolving["rebind.example"] = ["93.184.215.14", "127.0.0.1"]  # every address is checked, not the first
    with pytest.raises(outbound.OutboundRefused, match="127.0.0.1"):
        outbound.url_check("https://rebind.example/hook")


def test_an_allowed_network_opts_intranet_addresses_in_and_nothing_else(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    assert outbound.url_check("http://10.20.3.4/hook") == ""
    with pytest.raises(outbound.OutboundRefused):
        outbound.url_check("http://10.21.3.4/hook")


def test_redirects_are_not_followed(loopback_allowed):
    with webhook_server() as (elsewhere, reached):
        def redirect(handler):
            handler.send_response(307)
            handler.send_header("Location", elsewhere)
            handler.end_headers()

        with webhook_server(respond=redirect) as (url, received):
            with pytest.raises(OSError, match="307 .redirects are not followed"):
                outbound.post(url, body=b"{}", headers={})
    assert len(received) == 1 and len(reached) == 0


def test_at_most_64_kib_of_the_answer_is_read(loopback_allowed):
    def huge(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(8 * 2**20))
        handler.end_headers()
        try:
            for _ in range(128):
                handler.wfile.write(b"x" * 65536)
        except OSError:
            pass  # the client stopped reading

    with webhook_server(respond=huge) as (url, _):
        response = outbound.post(url, body=b"{}", headers={})
    assert response.status == 200 and len(response.body) == outbound.MAX_RESPONSE_BYTES


def test_a_server_dripping_its_answer_is_cut_off_at_the_deadline(loopback_allowed):
    """Each byte arrives well within a socket timeout; only the call's total deadline stops it."""
    stop = threading.Event()

    def drip(handler):
        try:
            handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
            handler.wfile.flush()
            while not stop.is_set():
                handler.wfile.write(b"X-Slow: 1\r\n")
                handler.wfile.flush()
                stop.wait(0.05)
        except OSError:
            pass

    with webhook_server(respond=drip) as (url, _):
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            outbound.post(url, body=b"{}", headers={}, timeout=0.5)
        elapsed = time.monotonic() - started
        stop.set()
    assert elapsed < 5  # not a benchmark: the watchdog fired, rather than the header drip ending on its own


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for hooks.example (its own CA), made with the openssl command."""
    def make(name: str):
        cert, key = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-days", "2", "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
                        "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        return cert, context
    return make


def test_tls_is_verified_against_the_urls_name_while_connecting_to_the_checked_address(
        certificate, resolving, loopback_allowed, monkeypatch, tmp_path):
    resolving["hooks.example"] = ["127.0.0.1"]
    (right_cert, right), (wrong_cert, wrong_name) = certificate("hooks.example"), certificate("other.example")
    bundle = tmp_path / "trusted.pem"  # both trusted, as an installation with its own CA would: only names differ
    bundle.write_bytes(right_cert.read_bytes() + wrong_cert.read_bytes())
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    with webhook_server(tls=right, host="hooks.example") as (url, received):
        assert outbound.post(url, body=b"{}", headers={}).status == 204
    assert received[0]["headers"]["Host"].startswith("hooks.example:")
    with webhook_server(tls=wrong_name, host="hooks.example") as (url, received):
        with pytest.raises(ssl.SSLCertVerificationError, match="[Hh]ostname mismatch"):
            outbound.post(url, body=b"{}", headers={})
    assert len(received) == 0


def test_an_international_name_is_checked_and_sent_as_dns_spells_it(resolving):
    resolving["xn--bcher-kva.example"] = ["127.0.0.1"]
    with pytest.raises(outbound.OutboundRefused, match="127.0.0.1"):
        outbound.url_check("https://bücher.example/hook")
    assert outbound.target_parse("https://BÜCHER.example./hook").host == "xn--bcher-kva.example"
