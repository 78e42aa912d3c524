// The catalogue behind every check verdict: a stable id, a title, the plain-language cause and the fix.
// docs/troubleshooting.md lists each entry word for word (test/unit/diagnostics/troubleshooting-doc.test.ts
// keeps them in step), and each failed or warning step of a report carries its entry's fix.
import type { Classification } from './types.js';

export interface ClassificationInfo {
  readonly title: string;
  /** What the classification means, in plain language. */
  readonly cause: string;
  /** What to do about it ('' for ok). */
  readonly fix: string;
}

export const CLASSIFICATIONS: Readonly<Record<Classification, ClassificationInfo>> = {
  ok: { title: 'OK', cause: 'The step passed.', fix: '' },

  dns_not_found: {
    title: 'Host name does not resolve',
    cause: 'The internal host name has no address in DNS (or /etc/hosts) as seen from the connector host (NXDOMAIN).',
    fix: 'Check the spelling of the mapping\'s internal host; resolve it on the connector host (`getent hosts NAME`); add the record to the internal DNS zone or use an IP address.',
  },
  dns_timeout: {
    title: 'DNS did not answer',
    cause: 'The resolver got no answer in time, or only a temporary failure (SERVFAIL, EAI_AGAIN).',
    fix: 'Check the DNS servers in /etc/resolv.conf of the connector host and that it may reach them (UDP and TCP port 53).',
  },
  dns_error: {
    title: 'DNS lookup failed',
    cause: 'The lookup failed for another reason (a malformed name, a resolver error).',
    fix: 'Resolve the name on the connector host (`getent hosts NAME`) and fix the resolver configuration or the mapping\'s internal host.',
  },

  tcp_refused: {
    title: 'Connection refused',
    cause: 'The host answered, but nothing listens on that port (or a firewall rejects with a reset).',
    fix: 'Check the mapping\'s internal port, and whether the service runs and listens on that address (`ss -ltn` on the backend host).',
  },
  tcp_timeout: {
    title: 'Connection timed out',
    cause: 'The connection attempt got no answer at all: a firewall between the connector and the backend probably drops it, or the host is down.',
    fix: 'Ask for the connector host to be allowed to reach the backend host and port through the firewalls on the way; check that the backend host is up.',
  },
  tcp_unreachable: {
    title: 'Host or network unreachable',
    cause: 'The connector host has no route to the backend address (EHOSTUNREACH, ENETUNREACH), or cannot open a connection to it at all.',
    fix: 'Check the routing and the network the connector host is in; the backend may be in a network segment the connector cannot reach.',
  },
  tcp_reset: {
    title: 'Connection reset',
    cause: 'The connection was reset while it was being opened: a firewall or load balancer rejected it, or the service crashed.',
    fix: 'Check the backend service log and any load balancer or firewall in front of it.',
  },

  tls_handshake_failed: {
    title: 'TLS handshake failed',
    cause: 'The backend and the connector could not agree on TLS (no shared protocol version or cipher), or the backend broke the handshake off.',
    fix: 'Check the TLS settings of the backend (TLS 1.2 or newer, modern ciphers) and its log for the handshake error.',
  },
  tls_self_signed: {
    title: 'Self-signed certificate',
    cause: 'The backend presents a certificate signed by itself (or a chain ending in a root) that the connector does not trust.',
    fix: 'Put the backend certificate (or its root CA) in a PEM file and name it in the mapping\'s `ca`, or give the backend a certificate from a CA the connector host trusts.',
  },
  tls_untrusted_issuer: {
    title: 'Certificate issuer not trusted',
    cause: 'The backend certificate was issued by a CA that is neither in the mapping\'s `ca` file nor in the system trust store, or the backend does not send its intermediate certificates.',
    fix: 'Add the issuing CA to the mapping\'s `ca` file, or configure the backend to send its full chain (leaf and intermediates).',
  },
  tls_expired: {
    title: 'Certificate expired',
    cause: 'A certificate of the backend\'s chain is past its expiry date (or the connector host\'s clock runs ahead).',
    fix: 'Renew the backend certificate and restart or reload the service; check the clock of the connector host (`timedatectl`).',
  },
  tls_not_yet_valid: {
    title: 'Certificate not yet valid',
    cause: 'A certificate of the backend\'s chain is only valid from a later date: it was issued for the future, or the connector host\'s clock runs behind.',
    fix: 'Check the clock of the connector host and of the CA that issued the certificate (`timedatectl`, NTP).',
  },
  tls_hostname_mismatch: {
    title: 'Certificate is for another host',
    cause: 'The backend certificate names other hosts (subject alternative names) than the mapping\'s internal host.',
    fix: 'Use an internal host in the mapping that the certificate names, or issue the backend a certificate whose subject alternative names include that host.',
  },
  tls_client_cert_required: {
    title: 'Backend requires a client certificate',
    cause: 'The backend asks for a TLS client certificate and refuses the handshake without one; the connector does not send one to backends.',
    fix: 'Allow the connector host without a client certificate on the backend (optional client authentication), or put a TLS-terminating proxy in front of the backend.',
  },
  tls_expiring_soon: {
    title: 'Certificate expires soon',
    cause: 'A certificate of the backend\'s chain expires within the warning window (diagnostics.cert_warn_days).',
    fix: 'Renew the backend certificate before it expires; calls will fail once it has.',
  },
  tls_protocol_error: {
    title: 'Not TLS',
    cause: 'The backend answered with something that is not TLS: the port serves plain HTTP or another protocol.',
    fix: 'Use protocol http (or tcp) in the mapping if the backend does not speak TLS on that port, or point the mapping at the backend\'s TLS port.',
  },

  probe_timeout: {
    title: 'No response',
    cause: 'The backend accepted the connection but did not answer the probe in time: it hangs, is overloaded, or waits for something else.',
    fix: 'Check the backend service (threads exhausted, deadlock, a slow dependency) and its log; restart it if it hangs.',
  },
  probe_closed: {
    title: 'Connection closed without a response',
    cause: 'The backend closed the connection without answering the probe: it crashed on the request, or it expects another protocol.',
    fix: 'Check the backend log for the request, and that the mapping\'s protocol (http, https, tcp, tcps) is what the backend speaks.',
  },
  probe_bad_response: {
    title: 'Invalid response',
    cause: 'The backend answered with something that is not valid HTTP (another protocol on that port, or a broken server).',
    fix: 'Check that the mapping points at the HTTP service and uses the right protocol (http or https) for that port.',
  },
  probe_server_error: {
    title: 'Server error (5xx)',
    cause: 'The backend answered the probe with a 5xx status other than 503: it runs but fails internally, or a gateway in front of it cannot reach it.',
    fix: 'Check the backend application log for the error; a 502 or 504 points at whatever the backend itself forwards to.',
  },
  probe_unavailable: {
    title: 'Service unavailable (503)',
    cause: 'The backend answered 503: it runs but says it cannot serve now (starting, in maintenance, overloaded, or its own dependencies are down).',
    fix: 'Check the backend\'s health and dependencies; wait for a maintenance window or start-up to end.',
  },
  probe_not_found: {
    title: 'Probe path not found',
    cause: 'The path set in the mapping\'s probe.path answered 404: the application is not deployed there, or the path is wrong.',
    fix: 'Set probe.path to a path the backend serves (e.g. its health endpoint), or check the application\'s deployment and context root.',
  },
  banner_mismatch: {
    title: 'Unexpected banner',
    cause: 'The first bytes the backend sent do not match probe.expect_banner, or it sent none in time: another service listens on that port.',
    fix: 'Check that the mapping\'s internal port is the intended service, and that probe.expect_banner matches what it sends.',
  },
  ldap_bind_failed: {
    title: 'LDAP bind refused',
    cause: 'The LDAP server refused the simple bind as probe.ldap.bind_dn (the result code says why: 49 is invalid credentials).',
    fix: 'Check probe.ldap.bind_dn and the password in probe.ldap.password_file, and that the account is not locked or expired.',
  },

  auth_required: {
    title: 'Authentication required (401)',
    cause: 'The backend is reachable but answered 401: it wants credentials the cloud app must send.',
    fix: 'Nothing is wrong with the tunnel. Check that the cloud app sends credentials (principal propagation, basic or token authentication) and that the backend accepts them.',
  },
  auth_forbidden: {
    title: 'Forbidden (403)',
    cause: 'The backend is reachable but answered 403 to an anonymous request.',
    fix: 'Check the backend\'s authorisation for the users the cloud app propagates; if the backend allows only some client addresses, allow the connector host.',
  },

  latency_high: {
    title: 'Slow response',
    cause: 'The whole check took longer than diagnostics.latency_warn_ms: calls through the tunnel will be slow.',
    fix: 'The step timings show where the time goes (DNS, connect, TLS, the backend\'s answer); check the backend\'s load and the network path to it.',
  },
};

/** Ids only `tunnelwatch doctor` produces (the connector's own path to its relay). */
export type DoctorOnlyClassification =
  | 'tunnel_alpn_mismatch' | 'tls_client_cert_rejected' | 'tunnel_hello_failed'
  | 'client_cert_unreadable' | 'client_cert_key_mismatch' | 'client_cert_cn_mismatch'
  | 'client_cert_expired' | 'client_cert_not_yet_valid' | 'client_cert_expiring_soon'
  | 'clock_skew';

export type DoctorClassification = Classification | DoctorOnlyClassification;

export const DOCTOR_CLASSIFICATIONS: Readonly<Record<DoctorOnlyClassification, ClassificationInfo>> = {
  tunnel_alpn_mismatch: {
    title: 'Not the relay\'s tunnel port',
    cause: 'The server at relay.address completed TLS but does not speak the tunnel protocol (ALPN tunnelwatch-h2/1).',
    fix: 'Set relay.address to the relay\'s tunnel port (tunnel.listen in relay.yaml), not its proxy or admin port.',
  },
  tls_client_cert_rejected: {
    title: 'Relay refused the connector certificate',
    cause: 'The relay ended the handshake after seeing the connector\'s client certificate: it is not signed by the relay\'s tunnel.tls.ca, or it expired.',
    fix: 'Issue the connector a certificate from the relay\'s CA (`tunnelwatch pki issue --out DIR --connector NAME`) and point relay.tls.cert and relay.tls.key at it.',
  },
  tunnel_hello_failed: {
    title: 'Tunnel hello failed',
    cause: 'TLS worked but the relay did not complete the tunnel hello: it closed the connection or did not ask in time.',
    fix: 'Check the relay\'s log for "connector session refused" at the time of the check; check that both ends run the same Tunnelwatch version.',
  },
  client_cert_unreadable: {
    title: 'Client certificate unreadable',
    cause: 'A file of relay.tls (cert, key or ca) cannot be read or parsed as PEM.',
    fix: 'Check the paths in relay.tls (relative to connector.yaml) and the file permissions; create the files with `tunnelwatch pki init` or `tunnelwatch pki issue`.',
  },
  client_cert_key_mismatch: {
    title: 'Key does not match certificate',
    cause: 'relay.tls.key is not the private key of relay.tls.cert.',
    fix: 'Point relay.tls.key at the key issued with this certificate, or issue a new pair (`tunnelwatch pki issue --out DIR --connector NAME --force`).',
  },
  client_cert_cn_mismatch: {
    title: 'Certificate name is not the connector id',
    cause: 'The relay identifies a connector by its certificate CN and routes nothing unless it equals connector.id.',
    fix: 'Set connector.id to the certificate CN, or issue a certificate for this connector id (`tunnelwatch pki issue --out DIR --connector ID`).',
  },
  client_cert_expired: {
    title: 'Client certificate expired',
    cause: 'The connector\'s own certificate (relay.tls.cert) is past its expiry date: the relay refuses the tunnel.',
    fix: 'Issue a new connector certificate (`tunnelwatch pki issue --out DIR --connector NAME --force`) and restart the connector.',
  },
  client_cert_not_yet_valid: {
    title: 'Client certificate not yet valid',
    cause: 'The connector\'s own certificate is only valid from a later date, or this host\'s clock runs behind.',
    fix: 'Check the clock of the connector host (`timedatectl`, NTP) and of the host that issued the certificate.',
  },
  client_cert_expiring_soon: {
    title: 'Client certificate expires soon',
    cause: 'The connector\'s own certificate expires within diagnostics.cert_warn_days; then the tunnel goes down.',
    fix: 'Issue a new connector certificate (`tunnelwatch pki issue --out DIR --connector NAME --force`) and restart the connector before it expires.',
  },
  clock_skew: {
    title: 'Clock skew',
    cause: 'This host\'s clock differs from the collector\'s (HTTP Date header) by more than the tolerance: audit timestamps and traces of relay and connector disagree, and beyond 5 minutes new certificates look not yet valid.',
    fix: 'Synchronise the clock of the connector host (NTP, `timedatectl set-ntp true`) and of the collector host.',
  },
};

/**
 * Fixes for the ids doctor shares with backend checks: the cause is the same, but what to change is the
 * relay side of connector.yaml, not a mapping.
 */
export const RELAY_FIXES: Readonly<Partial<Record<Classification, string>>> = {
  dns_not_found: 'Check the host in relay.address; resolve it on this host (`getent hosts NAME`) and add the record to the DNS this host uses.',
  dns_timeout: 'Check the DNS servers in /etc/resolv.conf of this host and that it may reach them.',
  dns_error: 'Resolve the relay host on this host (`getent hosts NAME`) and fix relay.address or the resolver configuration.',
  tcp_refused: 'Check the port in relay.address (the relay\'s tunnel.listen) and that the relay runs.',
  tcp_timeout: 'Allow outbound connections from this host to the relay\'s tunnel port through the firewalls on the way.',
  tcp_unreachable: 'Check this host\'s routing to the relay\'s network (default route, VPN).',
  tcp_reset: 'Check firewalls and proxies between this host and the relay; some reset TLS to ports they do not know.',
  tls_handshake_failed: 'Check that relay.address is the relay\'s tunnel port and that both ends allow TLS 1.2 or newer; the relay\'s log names the handshake error.',
  tls_protocol_error: 'relay.address points at something that does not speak TLS (e.g. the relay\'s plain-HTTP proxy port): use the tunnel.listen port of relay.yaml.',
  tls_self_signed: 'Put the CA that signed the relay certificate (ca.crt of the relay\'s PKI) in relay.tls.ca.',
  tls_untrusted_issuer: 'Put the CA that signed the relay certificate (ca.crt of the relay\'s PKI) in relay.tls.ca.',
  tls_expired: 'Renew the relay certificate and restart the relay; check this host\'s clock.',
  tls_not_yet_valid: 'Check the clock of this host and of the relay host (NTP).',
  tls_hostname_mismatch: 'Set relay.server_name to a name the relay certificate carries, or reissue the relay certificate for the host in relay.address (`tunnelwatch pki init --relay-host NAME`).',
  tls_expiring_soon: 'Renew the relay certificate before it expires: the tunnel goes down when it does.',
};

/** The catalogue entry of any id a check or doctor report carries. */
export function classificationInfo(id: DoctorClassification): ClassificationInfo {
  return (CLASSIFICATIONS as Record<string, ClassificationInfo>)[id] ?? (DOCTOR_CLASSIFICATIONS as Record<string, ClassificationInfo>)[id] ?? CLASSIFICATIONS.ok;
}
