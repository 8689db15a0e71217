/* The configuration model: what conf_load() builds from keepalived.conf.
 *
 * Plain data, allocated by conf/ and read-only for everyone else (the daemon's
 * build step, the VRRP and checker code of later issues, ulvsd --dump).  Every
 * object carries the location of the keyword that created it so that later
 * stages (build_dataplane(), reload) can report errors as file:line:col too.
 * Values are the effective ones: defaults and inheritance (virtual server ->
 * real server -> checker, as keepalived does it) are resolved by conf_load(),
 * so no consumer has to know keepalived's defaulting rules.
 *
 * Conventions: addresses are in network order (union ulvs_addr, as core/);
 * ports and every other number are in host order; times are milliseconds;
 * strings are NUL-terminated and owned by the model, NULL when absent.
 */
#ifndef ULVS_CONF_CONF_T_H
#define ULVS_CONF_CONF_T_H

#include <stdbool.h>
#include <stdint.h>

#include "core/addr.h"

struct conf_loc {
	const char *file;          /* owned by struct conf */
	unsigned line, col;        /* 1-based; col counts bytes */
	unsigned seq;              /* position in the token stream (orders diagnostics) */
};

struct conf_addr {
	uint8_t af;                /* enum ulvs_af; 0: not set */
	union ulvs_addr a;
};

struct conf_prefix {
	uint8_t af, plen;
	union ulvs_addr a;
};

/* ---- global_defs ------------------------------------------------------ */

struct conf_sync_daemon {          /* lvs_sync_daemon IFACE INSTANCE [...] */
	char *interface, *instance;
	uint32_t syncid;           /* 0..255, default 0 */
	uint32_t maxlen, port, ttl; /* 0: kernel default */
	struct conf_addr group;
	struct conf_loc loc;
};

struct conf_global {
	char *router_id;
	char **notification_email;
	unsigned n_notification_email;
	char *notification_email_from;
	char *smtp_server;         /* address or host name as written */
	uint32_t smtp_port;        /* default 25 */
	char *smtp_helo_name;
	uint32_t smtp_connect_timeout_ms; /* default 30 s */
	struct conf_addr vrrp_mcast_group4; /* default 224.0.0.18 */
	struct conf_addr vrrp_mcast_group6; /* default ff02::12 */
	char *default_interface;   /* default "eth0" */
	uint32_t vrrp_version;     /* 2 or 3, default 2 */
	bool vrrp_strict, vrrp_skip_check_adv_addr, vrrp_check_unicast_src;
	uint32_t vrrp_garp_master_delay_ms;   /* default 5 s */
	uint32_t vrrp_garp_master_repeat;     /* default 5 */
	uint32_t vrrp_garp_master_refresh_ms; /* default 0: none */
	uint32_t vrrp_garp_master_refresh_repeat; /* default 1 */
	uint32_t vrrp_garp_interval_us, vrrp_gna_interval_us; /* default 0 */
	char *script_user;
	bool enable_script_security;
	/* lvs_timeouts tcp T tcpfin T udp T, seconds; 0: not set (IPVS default) */
	uint32_t lvs_timeout_tcp, lvs_timeout_tcpfin, lvs_timeout_udp;
	bool have_sync_daemon;
	struct conf_sync_daemon sync_daemon;
	bool lvs_flush, lvs_flush_onstop;
};

/* ---- ulvs_defs (ulvs extension) -------------------------------------- */

struct conf_iface {
	char name[16];
	bool has_mac;
	struct ulvs_mac mac;
	uint32_t mtu;              /* default 1500 */
	struct conf_prefix *addrs; /* plen 0 when written without /len */
	unsigned n_addrs;
	struct conf_loc loc;
};

struct conf_route {
	struct conf_prefix dst;
	struct conf_addr via;      /* af 0: on link */
	char dev[16];              /* "" when not given: looked up by gateway */
	struct conf_loc loc;
};

struct conf_neigh {
	struct conf_addr addr;
	struct ulvs_mac mac;
	char dev[16];
	struct conf_loc loc;
};

struct conf_ulvs {
	struct conf_iface *ifaces;
	unsigned n_ifaces;
	struct conf_route *routes;
	unsigned n_routes;
	struct conf_neigh *neighs;
	unsigned n_neighs;
	uint32_t conn_table_size;  /* 0: ULVS_DEFAULT_CONNS */
	bool expire_nodest_conn;   /* default off, as the kernel sysctl */
	bool expire_quiescent_template; /* default off */
	bool conn_reuse_mode;      /* default on, as the kernel sysctl (1) */
	char control_socket[108];  /* ulvsadm's unix socket; "" = /run/ulvsd.sock */
	/* metrics_listen ADDR [PORT] | ADDR:PORT | [V6]:PORT: the Prometheus
	 * endpoint, off unless given */
	bool have_metrics;
	struct conf_addr metrics_addr;
	uint32_t metrics_port;     /* default 9117 */
};

/* ---- FULLNAT local addresses and mark rules (ulvs/DPVS extensions) ---- */

struct conf_laddr {                /* ADDR[-LAST] [IFNAME] */
	struct conf_addr first;
	uint32_t count;            /* addresses in the range, >= 1 */
	char ifname[16];
	struct conf_loc loc;
};

struct conf_laddr_group {
	char *name;
	struct conf_laddr *entries;
	unsigned n_entries;
	struct conf_loc loc;
};

#define CONF_MAX_MARK_PORTS 8

struct conf_mark_rule {
	uint32_t mark;
	uint8_t proto;             /* IPPROTO_TCP, IPPROTO_UDP, 0: any */
	struct conf_prefix dst;
	uint16_t port_lo[CONF_MAX_MARK_PORTS], port_hi[CONF_MAX_MARK_PORTS];
	unsigned n_ports;          /* 0: any port */
	struct conf_loc loc;
};

/* ---- virtual servers ------------------------------------------------- */

enum conf_check_type {
	CHECK_TCP = 0,
	CHECK_HTTP,
	CHECK_SSL,
	CHECK_SMTP,
	CHECK_DNS,
	CHECK_MISC,
	CHECK_UDP,
	CHECK_PING,
	CHECK_FILE,
	CHECK_BFD,
	CHECK_TYPE_MAX
};

struct conf_url {
	char *path, *digest, *virtualhost;
	/* status_code: ranges; none given means any 2xx (keepalived) */
	uint16_t status_lo[16], status_hi[16];
	unsigned n_status;
	char *regex;
	bool regex_no_match;
	struct conf_loc loc;
};

struct conf_checker {
	enum conf_check_type type;
	struct conf_loc loc;
	/* connection options (all but MISC, FILE and BFD) */
	struct conf_addr connect_ip;   /* default: the real server's address */
	uint32_t connect_port;         /* default: the real server's port */
	struct conf_addr bindto;
	uint32_t bind_port;
	char *bind_if;
	uint32_t connect_timeout_ms;   /* default: real server's, else 5 s */
	uint32_t fwmark;               /* SO_MARK of checker sockets, 0: none */
	/* common options, inherited from the real server */
	uint32_t retry;
	uint32_t delay_before_retry_ms;
	uint32_t warmup_ms;
	uint32_t delay_loop_ms;
	bool alpha, log_all_failures;
	/* HTTP_GET / SSL_GET */
	struct conf_url *urls;
	unsigned n_urls;
	char *virtualhost;
	char *http_protocol;
	bool enable_sni, fast_recovery;
	/* SMTP_CHECK */
	char *helo_name;
	/* DNS_CHECK: type default SOA, name default "." */
	char *dns_type, *dns_name;
	/* MISC_CHECK */
	char *misc_path;
	uint32_t misc_timeout_ms;      /* default: delay_loop */
	bool misc_dynamic;
	char *user;
	/* UDP_CHECK */
	char *payload;
	bool require_reply;
	uint32_t min_reply_length, max_reply_length;
	/* FILE_CHECK */
	char *track_file;
	int32_t file_weight;
	bool reverse;
	/* BFD_CHECK */
	char *bfd_name;
	uint32_t set_;             /* parse-time: settings written explicitly */
};

struct conf_rs {
	struct conf_addr addr;
	uint32_t port;             /* effective: what IPVS would be told */
	uint8_t fwd;               /* enum fwd_method */
	int32_t weight;            /* 0..65535, default: vs weight (1) */
	uint32_t uthreshold, lthreshold;
	bool inhibit_on_failure, alpha;
	int8_t smtp_alert;         /* -1: unset (keepalived default: on) */
	char *notify_up, *notify_down, *virtualhost;
	uint32_t connect_timeout_ms, delay_loop_ms, delay_before_retry_ms, warmup_ms;
	uint32_t retry;            /* UINT32_MAX: each checker's own default */
	struct conf_checker *checkers;
	unsigned n_checkers;
	struct conf_loc loc;
	/* parse-time state: which settings were written (for inheritance) */
	uint32_t set_;
};

enum conf_vs_kind { CONF_VS_ADDR = 0, CONF_VS_FWMARK, CONF_VS_GROUP };

/* Scheduler flags as keepalived spells them; IPVS maps them to flag-1..3. */
enum conf_sched_flag {
	CONF_SF_OPS = 1u << 0,
	CONF_SF_HASHED = 1u << 1,
	CONF_SF_FLAG1 = 1u << 2,
	CONF_SF_FLAG2 = 1u << 3,
	CONF_SF_FLAG3 = 1u << 4,
	CONF_SF_SH_PORT = 1u << 5,
	CONF_SF_SH_FALLBACK = 1u << 6,
	CONF_SF_MH_PORT = 1u << 7,
	CONF_SF_MH_FALLBACK = 1u << 8,
};

struct conf_vsg_entry {
	bool is_fwmark;
	uint32_t fwmark;
	struct conf_addr first;
	uint32_t count;            /* range length, >= 1 */
	uint32_t port;             /* 0: any (persistent only) */
	struct conf_loc loc;
};

struct conf_vsg {
	char *name;
	struct conf_vsg_entry *entries;
	unsigned n_entries;
	struct conf_loc loc;
};

struct conf_vs {
	enum conf_vs_kind kind;
	uint8_t af;                /* effective family (fwmark: from servers / ip_family) */
	struct conf_addr addr;     /* CONF_VS_ADDR */
	uint32_t port;
	uint32_t fwmark;           /* CONF_VS_FWMARK */
	char *group;               /* CONF_VS_GROUP: name; vsg resolved by index */
	int vsg;                   /* index in conf.vsgs, -1 */
	uint8_t proto;             /* IPPROTO_TCP/UDP/SCTP; 0 for fwmark-only services */
	char sched[8];             /* default "wlc" */
	uint32_t sched_flags;      /* enum conf_sched_flag */
	uint8_t fwd;               /* default forwarding method, default NAT */
	uint32_t persistence_timeout; /* seconds, 0: not persistent */
	uint8_t persistence_plen;  /* granularity as prefix length (32/128 default) */
	char *persistence_engine;
	uint32_t delay_loop_ms;    /* default 60 s */
	uint32_t connect_timeout_ms; /* default 5 s */
	uint32_t delay_before_retry_ms; /* UINT32_MAX: checker default */
	uint32_t warmup_ms;        /* UINT32_MAX: = delay_loop */
	uint32_t retry;            /* UINT32_MAX: checker default */
	int32_t weight;            /* default real server weight, 1 */
	bool inhibit_on_failure, alpha, omega, ha_suspend;
	int8_t smtp_alert;
	char *virtualhost;
	uint32_t quorum;           /* default 1 */
	uint32_t hysteresis;       /* default 0 */
	char *quorum_up, *quorum_down;
	bool has_sorry;
	struct conf_rs sorry;      /* sorry_server; .inhibit_on_failure = sorry_server_inhibit */
	char *laddr_group;         /* laddr_group_name (DPVS FULLNAT) */
	int lag;                   /* index in conf.lags, -1 */
	struct conf_rs *rs;
	unsigned n_rs;
	struct conf_loc loc;
	uint32_t set_;
};

/* ---- VRRP (kept for the VRRP issue) ---------------------------------- */

struct conf_ipaddr {               /* virtual_ipaddress / static_ipaddress entry */
	struct conf_prefix p;      /* plen: written or 32/128 */
	char *dev, *label;
	char *extra;               /* brd/scope/... options kept verbatim */
	struct conf_loc loc;
};

struct conf_track {                /* track_script / track_interface entry */
	char *name;
	int32_t weight;
	bool has_weight;
	bool reverse;              /* track_file only: weight negated */
	struct conf_loc loc;
};

struct conf_track_file {           /* track_file (vrrp_track_file) block */
	char *name, *file;
	int32_t weight;            /* default 1 */
	bool reverse;
	bool init_file, init_overwrite;
	int32_t init_value;        /* init_file VALUE, default 0 */
	struct conf_loc loc;
};

enum conf_vrrp_state { VRRP_STATE_BACKUP = 0, VRRP_STATE_MASTER };
enum conf_vrrp_auth { VRRP_AUTH_NONE = 0, VRRP_AUTH_PASS, VRRP_AUTH_AH };

struct conf_vrrp {
	char *name;
	enum conf_vrrp_state state; /* default BACKUP */
	char *interface;
	uint32_t vrid;             /* 1..255, required */
	uint32_t priority;         /* 1..255, default 100 */
	uint32_t advert_int_ms;    /* default 1 s */
	uint32_t version;          /* default: global vrrp_version */
	enum conf_vrrp_auth auth_type;
	char *auth_pass;
	struct conf_ipaddr *vips, *vips_excluded;
	unsigned n_vips, n_vips_excluded;
	char **virtual_routes;     /* kept verbatim */
	unsigned n_virtual_routes;
	struct conf_track *track_interface, *track_script;
	unsigned n_track_interface, n_track_script;
	struct conf_track *track_file;
	unsigned n_track_file;
	struct conf_addr unicast_src_ip, mcast_src_ip;
	struct conf_addr *unicast_peers;
	unsigned n_unicast_peers;
	bool nopreempt, dont_track_primary, native_ipv6;
	bool v3_checksum_as_v2;    /* v3 IPv4 checksum without the pseudo-header */
	int8_t accept;             /* -1: unset (on unless strict) */
	uint32_t preempt_delay_ms;
	char *notify_master, *notify_backup, *notify_fault, *notify_stop, *notify;
	int8_t smtp_alert;
	char *lvs_sync_daemon_interface;
	struct conf_loc loc;
};

struct conf_vrrp_script {
	char *name, *script, *user;
	uint32_t interval_ms;      /* default 1 s */
	uint32_t timeout_ms;       /* default: interval */
	int32_t weight;            /* -253..253, default 0 */
	uint32_t rise, fall;       /* default 1 */
	bool init_fail;
	struct conf_loc loc;
};

struct conf_sync_group {
	char *name;
	char **members;
	unsigned n_members;
	struct conf_track *track_script, *track_interface;
	unsigned n_track_script, n_track_interface;
	char *notify_master, *notify_backup, *notify_fault, *notify_stop, *notify;
	int8_t smtp_alert;
	struct conf_loc loc;
};

/* ---- the whole configuration ----------------------------------------- */

struct conf {
	char **files;              /* every file read, for conf_loc.file */
	unsigned n_files;
	struct conf_global global;
	struct conf_ulvs ulvs;
	struct conf_laddr_group *lags;
	unsigned n_lags;
	struct conf_mark_rule *marks;
	unsigned n_marks;
	struct conf_vsg *vsgs;
	unsigned n_vsgs;
	struct conf_vs *vs;
	unsigned n_vs;
	struct conf_vrrp *vrrps;
	unsigned n_vrrps;
	struct conf_vrrp_script *scripts;
	unsigned n_scripts;
	struct conf_sync_group *sync_groups;
	unsigned n_sync_groups;
	struct conf_ipaddr *static_ipaddress;
	unsigned n_static_ipaddress;
	char **static_routes;      /* verbatim, applied by the VRRP/netlink issue */
	unsigned n_static_routes;
	struct conf_track_file *track_files;
	unsigned n_track_files;
};

#endif
