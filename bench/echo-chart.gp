# echo-chart.gp - the chart of bench/echo: every server's replies/s and
# CPU per reply, per scenario, as a multiple of the floor (the better of
# the two textbook servers).  One bar per server.
#
#   gnuplot -e "data='FILE'; out='OUT.svg'; subtitle='...'" bench/echo-chart.gp
#
# data: two blocks written by echo-report.awk (index 0: replies/s, index 1:
# CPU per reply), a header line of server names, then a row per scenario.
# Bars that run past the top of a panel are cut there; the table has the
# figures.
if (!exists("subtitle")) subtitle = ""
set terminal svg size 1100,760 dynamic font "sans,11" background "white"
set output out
set datafile missing "?"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key outside right top vertical
set grid ytics
set xtics nomirror
set ytics nomirror
nservers = words(system("head -1 '" . data . "'")) - 1
set multiplot layout 2,1 title "Echo servers on loopback, as a multiple of the floor\n{/*0.8 " . subtitle . "}"
set ylabel "replies/s / floor (higher is better)"
set yrange [0:1.6]
plot for [i=2:nservers+1] data index 0 using i:xtic(1) title columnheader(i), \
	1 with lines lc "black" dt 2 notitle
set ylabel "CPU per reply / floor (lower is better)"
set yrange [0:2.5]
plot for [i=2:nservers+1] data index 1 using i:xtic(1) title columnheader(i), \
	1 with lines lc "black" dt 2 notitle
unset multiplot
