# plot.gp: larch-bench's chart, one panel per key set, one cluster of bars per
# workload and thread count, one bar per index (log scale: scans and point
# operations differ tenfold). larch-bench --plot runs it with these set:
#   datafile outfile blocks columns titles heading ymin
set terminal png size 1100, 260 * blocks + 60 font ",9"
set output outfile
set datafile missing "NaN"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set format y "%g"
set yrange [ymin:*]
set grid ytics
set ylabel "Mops/s (scan: M scans/s)"
set xtics nomirror scale 0
set key outside right top vertical
set multiplot layout blocks, 1 title heading
do for [b = 0:blocks - 1] {
    set title word(titles, b + 1) . " keys"
    plot for [c = 2:columns + 1] datafile index b using c:xtic(1) title columnheader(c)
}
unset multiplot
