# echo-report.awk - the table and the targets of bench/echo, from its raw
# results (see bench/README.md, "Echo servers").
#
# Variables: all_sc (scenarios, in order), all_srv (servers, in order),
# host (the larsd the targets judge: the worker count bench/echo names for
# this host), two (larsd with two workers, for the "p99 with 2 workers"
# target, or ""), check (1: exit 1 on a missed target), chartdata (a file
# to write the chart's data into, or ""), strict (1: exit 1 if a run
# failed: a server that did not start, a corrupt reply, a connection
# error, larsd-bench exiting non-zero; UDP losses alone do not fail).
#
# The floor of a scenario is the better of the two textbook servers,
# metric by metric: the higher median replies/s, the lower median CPU per
# reply, the lower median p99.

function title(s) {
	if (s == "tcp1") return "TCP 64 B, 1 conn"
	if (s == "tcp50") return "TCP 64 B, 50 conns"
	if (s == "tcp500") return "TCP 64 B, 500 conns"
	if (s == "pipe16") return "TCP 64 B, 50 conns x depth 16"
	if (s == "big1") return "TCP 64 KiB, 1 conn"
	if (s == "udp1") return "UDP 64 B, 1 socket"
	if (s == "udp32") return "UDP 64 B, 32 sockets"
	if (s == "lars50") return "lars TCP 64 B, 50 conns"
	if (s == "larspipe16") return "lars TCP 64 B, 50 conns x depth 16"
	if (s == "larsudp32") return "lars UDP 64 B, 32 sockets"
	return s
}
# The echo scenario a lars scenario mirrors.
function echo_of(s) {
	if (s == "lars50") return "tcp50"
	if (s == "larspipe16") return "pipe16"
	if (s == "larsudp32") return "udp32"
	return ""
}
function is_floor(s) { return s == "textbook" || s == "textbook-uring" }
# median (or min, max) of the space separated numbers in s ("-" skipped)
function stat(s, what,    a, n, i, j, t, m, k) {
	n = 0
	m = split(s, t, " ")
	for (i = 1; i <= m; i++) if (t[i] != "-" && t[i] != "") a[++n] = t[i] + 0
	if (n == 0) return ""
	for (i = 2; i <= n; i++) { k = a[i]; for (j = i - 1; j >= 1 && a[j] > k; j--) a[j + 1] = a[j]; a[j + 1] = k }
	if (what == "min") return a[1]
	if (what == "max") return a[n]
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function fmt(v) {
	if (v == "") return "-"
	if (v >= 100) return sprintf("%.0f", v)
	if (v >= 10) return sprintf("%.1f", v)
	if (v >= 1) return sprintf("%.2f", v)
	return sprintf("%.3f", v)
}
function cell(s) {
	if (stat(s, "med") == "") return "-"
	if (stat(s, "min") == stat(s, "max")) return fmt(stat(s, "med"))
	return fmt(stat(s, "med")) " (" fmt(stat(s, "min")) "-" fmt(stat(s, "max")) ")"
}
function ratio(a, b) { return (a != "" && b != "" && b > 0) ? a / b : "" }
function rfmt(r) { return r == "" ? "-" : sprintf("%.2f", r) }
# The floor of scenario sc for metric m (in rate, cpu, p99); "" if neither
# textbook server ran.  floor_by[] gets which one it was.
function floor_of(sc, m,    v, best, j, s) {
	best = ""
	for (j = 1; j <= nv; j++) {
		s = svs[j]
		if (!is_floor(s)) continue
		v = stat(m == "rate" ? rate[s SUBSEP sc] : m == "cpu" ? cpu[s SUBSEP sc] : p99[s SUBSEP sc], "med")
		if (v == "") continue
		if (best == "" || (m == "rate" ? v > best : v < best)) { best = v; floor_by[sc, m] = s }
	}
	return best
}
# A target cell: the ratio, then PASS or MISS against the limit.
function judge(r, lim, atleast,    ok) {
	if (r == "") return "-"
	ok = atleast ? r >= lim : r <= lim
	if (!ok) miss++
	return sprintf("%.2f %s", r, ok ? "PASS" : "MISS")
}

$1 == "machine" { $1 = ""; k = $2; $2 = ""; sub(/^ +/, ""); mach[k] = $0; next }
$1 == "idle" && $2 == "rss_kib" { idle_rss = $3; next }
$1 == "idle" && $2 == "conns" { idle_open = $3; idle_want = $4; idle_conn_rss = $5; idle_slab = $6; next }
$1 == "run" {
	k = $2 SUBSEP $3
	seen[k] = 1
	sc_seen[$3] = 1
	rate[k] = rate[k] " " $5; p99[k] = p99[k] " " $6; cpu[k] = cpu[k] " " $7
	rss[k] = rss[k] " " ($8 == "-" ? "-" : $8 / 1024)
	if ($9 != "-" && $9 > 0) errs[k] += $9
	if ($10 != "-" && $10 > 0) loss[k] += $10
	if ($12 != "0") bad[k] = bad[k] " " $4 ":" $12
	nruns[k]++
	next
}
END {
	split(mach["settings"], st, " ")
	printf "Echo servers on loopback: median (min-max) of %s rounds of %s s (after %s s warm-up);\n", st[2], st[4], st[6]
	printf "%s CPUs (%s); Linux %s; tree %s; %s;\n", mach["cpus"], mach["model"], mach["kernel"], mach["tree"], mach["date"]
	printf "load average at start %s, at end %s; %s; took %ss.\n\n", mach["load_start"], mach["load_end"], mach["versions"], mach["took"]
	print "| scenario | server | replies/s | x floor | p99 us | x floor | server CPU s / 100k replies | x floor | server RSS MiB |"
	print "|---|---|---:|---:|---:|---:|---:|---:|---:|"
	ns = split(all_sc, scs, " "); nv = split(all_srv, svs, " ")
	for (i = 1; i <= ns; i++) {
		sc = scs[i]
		if (!(sc in sc_seen)) continue
		fr[sc] = floor_of(sc, "rate"); fc[sc] = floor_of(sc, "cpu"); fp[sc] = floor_of(sc, "p99")
		for (j = 1; j <= nv; j++) {
			s = svs[j]; k = s SUBSEP sc
			if (!(k in seen)) continue
			mark = (k in errs || k in loss) ? " *" : ""
			printf "| %s | %s%s | %s | %s | %s | %s | %s | %s | %s |\n", title(sc), s, mark,
				cell(rate[k]), rfmt(ratio(stat(rate[k], "med"), fr[sc])),
				cell(p99[k]), rfmt(ratio(stat(p99[k], "med"), fp[sc])),
				cell(cpu[k]), rfmt(ratio(stat(cpu[k], "med"), fc[sc])), cell(rss[k])
		}
		if (fr[sc] != "")
			printf "| %s | **floor** | %s (%s) | 1 | %s (%s) | 1 | %s (%s) | 1 | |\n", title(sc),
				fmt(fr[sc]), floor_by[sc, "rate"], fmt(fp[sc]), floor_by[sc, "p99"],
				fmt(fc[sc]), floor_by[sc, "cpu"]
	}
	print ""
	for (i = 1; i <= ns; i++) for (j = 1; j <= nv; j++) {
		k = svs[j] SUBSEP scs[i]
		if (k in errs || k in loss || k in bad)
			printf "\\* %s, %s: %s errors, %s UDP losses over %d runs%s\n", svs[j], title(scs[i]), errs[k] + 0, loss[k] + 0, nruns[k], (k in bad) ? "; non-zero exits (round:status):" bad[k] : ""
	}

	# ---- targets: ratios of medians ----
	miss = 0
	print ""
	printf "Targets, judged on %s (the worker count for this host; see bench/README.md)%s:\n\n", host,
		two != "" ? sprintf(" and, for p99 with two workers, on %s", two) : ""
	printf "| scenario | replies/s / floor (>= 0.95) | CPU per reply / floor (<= 1.05) | p99 / floor (<= 1.20) | %s | lars / echo mode replies/s (>= 0.95) |\n",
		two != "" ? "p99 / floor, " two " (<= 2.00)" : "p99 / floor, 2 workers"
	print "|---|---|---|---|---|---|"
	for (i = 1; i <= ns; i++) {
		sc = scs[i]
		if (!(sc in sc_seen)) continue
		k = host SUBSEP sc
		le = "-"
		if (echo_of(sc) != "" && (echo_of(sc) in sc_seen))
			le = judge(ratio(stat(rate[k], "med"), stat(rate[host SUBSEP echo_of(sc)], "med")), 0.95, 1)
		printf "| %s | %s | %s | %s | %s | %s |\n", title(sc),
			judge(ratio(stat(rate[k], "med"), fr[sc]), 0.95, 1),
			judge(ratio(stat(cpu[k], "med"), fc[sc]), 1.05, 0),
			judge(ratio(stat(p99[k], "med"), fp[sc]), 1.2, 0),
			two == "" ? "-" : judge(ratio(stat(p99[two SUBSEP sc], "med"), fp[sc]), 2, 0), le
	}
	print ""
	print "| memory | larsd, shipped config | limit | result |"
	print "|---|---:|---:|---|"
	if (idle_rss != "") {
		ok = idle_rss <= 4096; if (!ok) miss++
		printf "| idle RSS | %.2f MiB | <= 4 MiB | %s |\n", idle_rss / 1024, ok ? "PASS" : "MISS"
	}
	if (idle_conn_rss != "") {
		ok = idle_conn_rss <= 65536 && idle_open == idle_want; if (!ok) miss++
		printf "| RSS with %d idle TCP connections (%d kept open) | %.1f MiB | <= 64 MiB | %s |\n", idle_want, idle_open, idle_conn_rss / 1024, ok ? "PASS" : "MISS"
		if (idle_want > 0)
			printf "\nPer idle connection, larsd RSS: (%.0f - %.0f) KiB / %d = %.0f bytes.  Kernel memory is not in RSS: the slab grew by %.0f KiB system-wide meanwhile (both ends of each connection, and whatever else ran), %.1f KiB per connection.\n", idle_conn_rss, idle_rss, idle_want, (idle_conn_rss - idle_rss) * 1024 / idle_want, idle_slab, idle_slab / idle_want
	}
	printf "\n%d target(s) missed.\n", miss

	# ---- the chart's data: two blocks (replies/s, CPU per reply), each a
	# row per scenario and a column per server, as multiples of the floor
	if (chartdata != "") {
		for (b = 1; b <= 2; b++) {
			printf "scenario" > chartdata
			for (j = 1; j <= nv; j++) if (used(svs[j])) printf " %s", svs[j] > chartdata
			printf "\n" > chartdata
			for (i = 1; i <= ns; i++) {
				sc = scs[i]
				if (!(sc in sc_seen)) continue
				printf "%s", sc > chartdata
				for (j = 1; j <= nv; j++) {
					if (!used(svs[j])) continue
					k = svs[j] SUBSEP sc
					r = b == 1 ? ratio(stat(rate[k], "med"), fr[sc]) : ratio(stat(cpu[k], "med"), fc[sc])
					printf " %s", r == "" ? "?" : sprintf("%.3f", r) > chartdata
				}
				printf "\n" > chartdata
			}
			printf "\n\n" > chartdata
		}
		close(chartdata)
	}
	if (strict) {
		failed = 0
		for (k in nruns) if (k in errs || k in bad) failed++
		printf "%d server/scenario pair(s) with failed runs.\n", failed
		if (failed) exit 1
	}
	if (check && miss) exit 1
}
function used(s,    i) {
	for (i = 1; i <= ns; i++) if ((s SUBSEP scs[i]) in seen) return 1
	return 0
}
