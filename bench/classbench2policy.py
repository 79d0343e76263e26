#!/usr/bin/env python3
"""Convert ClassBench rule sets to flowgate policies, and ClassBench header
traces to a header file a C benchmark can read (docs/bench.md).

Rules (one per line: @SRC/LEN DST/LEN SLO : SHI DLO : DHI PROTO/MASK FLAGS/MASK)
become rules r<LINE> in file order, so first match wins in both:

    src, dst   the prefix; 0.0.0.0/0 is left out (any)
    sport,dport  N or "LO-HI"; 0 : 65535 is left out (any)
    proto      0xPP/0xFF -> PP (a number); 0x00/0x00 -> left out (any)
    flags      ignored (synthetic, not TCP flag bits)

Two cases cannot be said exactly in a flowgate policy (none occurs in the
acl1/fw1/ipc1 sets; each is counted on stderr when it does):
  * proto 0x00/0x00 with port ranges: ClassBench matches any protocol whose
    header carries those port values; flowgate reads ports only for TCP and
    UDP, and a rule with ports and no proto matches TCP and UDP. The rule is
    written with its ports and no proto, so it no longer matches other
    protocols.
  * a protocol other than TCP (6) and UDP (17) with port ranges: flowgate has
    no ports for it, so the ports are left out and the rule matches all of
    that protocol's traffic between the prefixes (it matches more).

Traces (one header per line: SRC DST SPORT DPORT PROTO FLAGS RULE, unsigned
decimal) become a binary file of fixed records (or, with --text, a text file):

    header, 16 bytes:  char magic[8] = "FGBTRACE"; __u32 version = 1;
                       __u32 count                       (little-endian)
    record, 24 bytes:  __be32 saddr; __be32 daddr; __be16 sport; __be16 dport;
                       __u8 proto; __u8 pad[3] = 0;
                       __u32 gen_rule;     the rule the header was drawn from, 1-based
                                           like r<N> (the trace's column is 0-based)
                       __u32 first_match;  first rule that matches under
                                           flowgate's semantics (above), 0 = none
                                           (the default applies), 0xffffffff =
                                           not computed (no --rules)
                                           (both little-endian)

bench/cbtrace.h declares the same layout for C. Addresses in ClassBench
files are synthetic data: use them in BPF_PROG_TEST_RUN packets and maps,
never as destinations of real traffic.
"""

import argparse
import gzip
import ipaddress
import struct
import sys

TRACE_MAGIC = b"FGBTRACE"
TRACE_VERSION = 1
TRACE_HDR = struct.Struct("<8sII")
TRACE_REC = struct.Struct("!IIHHB3x")  # network order part, 16 bytes
TRACE_TAIL = struct.Struct("<II")  # gen_rule, first_match
NOT_COMPUTED = 0xFFFFFFFF
TCP, UDP = 6, 17


class InputError(Exception):
    pass


def open_text(path):
    """A text stream of PATH ('-' = stdin), gunzipped if it is gzip."""
    raw = sys.stdin.buffer if path == "-" else open(path, "rb")
    head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
    if head == b"\x1f\x8b":
        raw = gzip.GzipFile(fileobj=raw)
    return (line.decode("ascii") for line in raw)


def parse_prefix(text, where, stats):
    try:
        net = ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        raise InputError("%s: '%s' is not an IPv4 prefix" % (where, text))
    if str(net) != text:
        stats["host_bits"] += 1
    return net


def parse_range(text, where):
    try:
        lo, hi = (int(x) for x in text.split(":"))
    except ValueError:
        raise InputError("%s: '%s' is not a port range 'LO : HI'" % (where, text))
    if not 0 <= lo <= hi <= 65535:
        raise InputError("%s: port range '%s' is out of order or bounds" % (where, text))
    return lo, hi


def prefix_ints(net):
    """(network, mask) as integers; (0, 0) for any."""
    if net is None:
        return 0, 0
    return int(net.network_address), int(net.netmask)


class Rule:
    """One ClassBench rule, already in flowgate's terms (None = any)."""

    __slots__ = ("num", "src", "dst", "sport", "dport", "proto", "snet", "dnet")

    def __init__(self, num, src, dst, sport, dport, proto):
        self.num, self.src, self.dst = num, src, dst
        self.sport, self.dport, self.proto = sport, dport, proto
        self.snet, self.dnet = prefix_ints(src), prefix_ints(dst)

    def has_ports(self):
        return self.sport is not None or self.dport is not None

    def matches(self, saddr, daddr, sport, dport, proto):
        """flowgate's semantics: ports only exist for TCP and UDP; a rule with
        ports and no proto matches TCP and UDP."""
        if saddr & self.snet[1] != self.snet[0] or daddr & self.dnet[1] != self.dnet[0]:
            return False
        if self.proto is not None and proto != self.proto:
            return False
        if self.has_ports():
            if proto not in (TCP, UDP):
                return False
            if self.sport is not None and not self.sport[0] <= sport <= self.sport[1]:
                return False
            if self.dport is not None and not self.dport[0] <= dport <= self.dport[1]:
                return False
        return True


def parse_rules(path, limit=None):
    """Rules of a ClassBench file, with counts of the inexact mappings."""
    stats = {"any_proto_ports": 0, "ports_dropped": 0, "host_bits": 0}
    rules = []
    for num, line in enumerate(open_text(path), 1):
        if limit is not None and len(rules) >= limit:
            break
        where = "%s:%d" % (path, num)
        fields = [f for f in line.rstrip("\r\n").split("\t") if f != ""]
        if not fields:
            raise InputError("%s: empty line (rule numbers are line numbers)" % where)
        if len(fields) < 5 or not fields[0].startswith("@"):
            raise InputError("%s: not a ClassBench rule '@SRC DST SPORT DPORT PROTO FLAGS'"
                             % where)
        src = parse_prefix(fields[0][1:], where, stats)
        dst = parse_prefix(fields[1], where, stats)
        sport = parse_range(fields[2], where)
        dport = parse_range(fields[3], where)
        try:
            pval, pmask = (int(x, 16) for x in fields[4].split("/"))
        except ValueError:
            raise InputError("%s: '%s' is not PROTO/MASK" % (where, fields[4]))
        if pmask == 0:
            proto = None
        elif pmask == 0xFF:
            proto = pval
        else:
            raise InputError("%s: protocol mask %s is neither 0x00 nor 0xFF" % (where, fields[4]))
        sport = None if sport == (0, 65535) else sport
        dport = None if dport == (0, 65535) else dport
        if sport is not None or dport is not None:
            if proto is None:
                stats["any_proto_ports"] += 1
            elif proto not in (TCP, UDP):
                stats["ports_dropped"] += 1
                sport = dport = None
        rules.append(Rule(num,
                          None if src.prefixlen == 0 else src,
                          None if dst.prefixlen == 0 else dst,
                          sport, dport, proto))
    return rules, stats


def port_yaml(rng):
    lo, hi = rng
    return str(lo) if lo == hi else '"%d-%d"' % (lo, hi)


def write_policy(rules, args, out):
    out.write("# Generated by bench/classbench2policy.py from %s: %d rules.\n"
              % (args.input, len(rules)))
    out.write("version: 1\n")
    out.write("interfaces: [%s]\n" % ", ".join(args.iface or ["lo"]))
    out.write("default: %s\n" % args.default)
    if args.api_socket:
        out.write("api:\n  socket: %s\n" % args.api_socket)
    out.write("rules:\n" if rules else "rules: []\n")
    for r in rules:
        out.write("  - name: r%d\n    action: %s\n" % (r.num, args.action))
        if r.src is not None:
            out.write("    src: %s\n" % r.src)
        if r.dst is not None:
            out.write("    dst: %s\n" % r.dst)
        if r.proto is not None:
            out.write("    proto: %d\n" % r.proto)
        if r.sport is not None:
            out.write("    sport: %s\n" % port_yaml(r.sport))
        if r.dport is not None:
            out.write("    dport: %s\n" % port_yaml(r.dport))


class Classifier:
    """First match over the rules by tuple-space search: rules grouped by
    (source, destination) prefix lengths, each group a dict on the masked
    addresses; groups are tried in order of their first rule, so the search
    stops once no group can hold an earlier match."""

    def __init__(self, rules):
        groups = {}
        for r in rules:
            groups.setdefault((r.snet[1], r.dnet[1]), {}).setdefault(
                (r.snet[0], r.dnet[0]), []).append(r)
        self.groups = []
        for (smask, dmask), table in groups.items():
            first = min(rs[0].num for rs in table.values())
            self.groups.append((first, smask, dmask, table))
        self.groups.sort(key=lambda g: g[0])

    def first_match(self, saddr, daddr, sport, dport, proto):
        best = 0
        for first, smask, dmask, table in self.groups:
            if best and first > best:
                break
            for r in table.get((saddr & smask, daddr & dmask), ()):
                if best and r.num > best:
                    break
                if r.matches(saddr, daddr, sport, dport, proto):
                    best = r.num
                    break
        return best


def parse_trace(path):
    for num, line in enumerate(open_text(path), 1):
        fields = line.split()
        if not fields:
            continue
        where = "%s:%d" % (path, num)
        if len(fields) < 7:
            raise InputError("%s: not a ClassBench header 'SRC DST SPORT DPORT PROTO FLAGS RULE'"
                             % where)
        try:
            saddr, daddr, sport, dport, proto, _flags, rule = (int(f) for f in fields[:7])
        except ValueError:
            raise InputError("%s: fields must be unsigned decimal integers" % where)
        if not (0 <= saddr <= 0xFFFFFFFF and 0 <= daddr <= 0xFFFFFFFF and 0 <= sport <= 65535
                and 0 <= dport <= 65535 and 0 <= proto <= 255 and 0 <= rule <= 0xFFFFFFFF):
            raise InputError("%s: a field is out of range" % where)
        if rule == 0xFFFFFFFF:
            raise InputError("%s: generating rule %d is out of range" % (where, rule))
        # The column is 0-based: header N was drawn from line rule + 1 (checked on
        # acl1/fw1/ipc1: rule + 1 matches every header, rule itself rarely).
        yield saddr, daddr, sport, dport, proto, rule + 1


def write_trace(args):
    classifier = None
    if args.rules:
        rules, _ = parse_rules(args.rules)
        classifier = Classifier(rules)
    records = []
    for saddr, daddr, sport, dport, proto, rule in parse_trace(args.input):
        match = (classifier.first_match(saddr, daddr, sport, dport, proto)
                 if classifier else NOT_COMPUTED)
        records.append((saddr, daddr, sport, dport, proto, rule, match))
    if args.text:
        out = open(args.output, "w") if args.output != "-" else sys.stdout
        with out:
            for saddr, daddr, sport, dport, proto, rule, match in records:
                out.write("%s %s %d %d %d %d %d\n" % (
                    ipaddress.IPv4Address(saddr), ipaddress.IPv4Address(daddr), sport, dport,
                    proto, rule, -1 if match == NOT_COMPUTED else match))
    else:
        if args.output == "-":
            raise InputError("a binary trace needs -o FILE (or use --text)")
        with open(args.output, "wb") as out:
            out.write(TRACE_HDR.pack(TRACE_MAGIC, TRACE_VERSION, len(records)))
            for saddr, daddr, sport, dport, proto, rule, match in records:
                out.write(TRACE_REC.pack(saddr, daddr, sport, dport, proto))
                out.write(TRACE_TAIL.pack(rule, match))
    matched = sum(1 for r in records if r[6] not in (0, NOT_COMPUTED))
    sys.stderr.write("classbench2policy: %d headers -> %s%s\n" % (
        len(records), args.output,
        "; %d match a rule, %d only the default" % (matched, len(records) - matched)
        if classifier else ""))


def main():
    ap = argparse.ArgumentParser(
        description="Convert a ClassBench rule file to a flowgate policy (default), or a "
                    "ClassBench trace to a header file for C benchmarks (--trace). "
                    "Inputs may be gzipped.",
        epilog="examples:\n"
               "  classbench2policy.py acl1_10000.gz -o acl1_10k.yaml --iface fgb-rx\n"
               "  classbench2policy.py --trace acl1_10000_trace.gz --rules acl1_10000.gz "
               "-o acl1_10k.trace\n"
               "  classbench2policy.py --trace acl1_10000_trace.gz --text -o - | head",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", help="ClassBench rule (or, with --trace, trace) file; - = stdin")
    ap.add_argument("-o", "--output", default="-", help="output file (default stdout)")
    ap.add_argument("--iface", action="append",
                    help="policy interface (repeatable; default lo)")
    ap.add_argument("--default", choices=("allow", "drop"), default="allow",
                    help="verdict when no rule matches (default allow)")
    ap.add_argument("--action", choices=("drop", "allow", "log"), default="drop",
                    help="every rule's action (default drop)")
    ap.add_argument("--api-socket", metavar="PATH", help="add api: socket: PATH")
    ap.add_argument("--limit", type=int, metavar="N", help="only the first N rules")
    ap.add_argument("--trace", action="store_true", help="convert a header trace")
    ap.add_argument("--rules", metavar="FILE",
                    help="with --trace: compute each header's first matching rule in FILE")
    ap.add_argument("--text", action="store_true",
                    help="with --trace: one header a line, 'SRC DST SPORT DPORT PROTO "
                         "GEN_RULE FIRST_MATCH' (addresses dotted; -1 = not computed)")
    args = ap.parse_args()
    if not args.trace and (args.rules or args.text):
        ap.error("--rules and --text go with --trace")
    if args.limit is not None and args.limit < 0:
        ap.error("--limit must be >= 0")
    try:
        if args.trace:
            write_trace(args)
            return 0
        rules, stats = parse_rules(args.input, args.limit)
        out = open(args.output, "w") if args.output != "-" else sys.stdout
        with out:
            write_policy(rules, args, out)
        notes = []
        if stats["any_proto_ports"]:
            notes.append("%d any-protocol rules with ports now match TCP and UDP only"
                         % stats["any_proto_ports"])
        if stats["ports_dropped"]:
            notes.append("%d rules of other protocols lost their ports (match more)"
                         % stats["ports_dropped"])
        if stats["host_bits"]:
            notes.append("%d prefixes had host bits set (cleared)" % stats["host_bits"])
        sys.stderr.write("classbench2policy: %d rules -> %s%s\n" % (
            len(rules), args.output, "; " + "; ".join(notes) if notes else ""))
    except BrokenPipeError:
        # Output cut short by a reader such as head: not an error.
        sys.stderr.close()
        return 0
    except (InputError, OSError, EOFError, UnicodeDecodeError) as e:
        sys.stderr.write("classbench2policy: %s\n" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
