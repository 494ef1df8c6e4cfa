# Reference values for tests/ttr/test_ttr.c: R's TTR package (the indicator library quants
# check against) over its own ttrc data set (5550 daily bars of a stock, 1985-2006).
#
#   Rscript --vanilla tests/ttr/reference.R OUT.csv
#
# Writes one row per bar: the bar (date, open, high, low, close, volume) and, per column
# below, TTR's value or NA while it warms up. Every number is printed with 17 significant
# digits, so the test reads back the very doubles R used. The data is TTR's, not ours: the
# file is generated into the build directory at test time and never committed.
#
# Each column is named after the apex.ta call it checks (tests/ttr/compare.lua). Where
# apex.ta's default convention differs from TTR's default, both are written: TTR called
# with the arguments that give apex.ta's convention, and TTR's own default for the
# apex.ta option that follows TTR (docs/lua-api.md, "Conventions").
#
# Exit status 3: TTR is not installed (the test tells the user to run `make deps`).

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 1) {
  message("usage: Rscript --vanilla reference.R OUT.csv")
  quit(status = 2)
}
if (!suppressPackageStartupMessages(requireNamespace("TTR", quietly = TRUE))) {
  message("R cannot load the TTR package (Debian: r-cran-ttr)")
  quit(status = 3)
}
suppressPackageStartupMessages(library(TTR))

data("ttrc", package = "TTR", envir = environment())
hlc <- ttrc[, c("High", "Low", "Close")]
cl <- ttrc$Close

# ATR: TTR's true range is NA on the first bar (no previous close), so its Wilder average
# starts one bar later and from a different seed. apex.ta's default counts the first bar's
# high - low as its true range; that convention is TTR's own true ranges with the first
# one filled in, smoothed by TTR's own Wilder EMA.
atr_ttr <- ATR(hlc, n = 14)
tr_first_range <- atr_ttr[, "tr"]
tr_first_range[1] <- ttrc$High[1] - ttrc$Low[1]

# Bollinger: population standard deviation in both. TTR's default price is the typical
# price (high + low + close) / 3; on the close it is BBands(close).
bb_close <- BBands(cl, n = 20, sd = 2)
bb_typical <- BBands(hlc, n = 20, sd = 2)

# MACD: TTR's default is the percent form, 100 * (EMA fast / EMA slow - 1).
macd_abs <- MACD(cl, nFast = 12, nSlow = 26, nSig = 9, percent = FALSE)
macd_pct <- MACD(cl, nFast = 12, nSlow = 26, nSig = 9)

ref <- list(
  sma10 = SMA(cl, n = 10),
  sma50 = SMA(cl, n = 50),
  sma200 = SMA(cl, n = 200),
  ema10 = EMA(cl, n = 10),
  ema50 = EMA(cl, n = 50),
  rsi14 = RSI(cl, n = 14),
  rsi2 = RSI(cl, n = 2),
  atr14 = EMA(tr_first_range, n = 14, wilder = TRUE),
  atr14_skip = atr_ttr[, "atr"],
  bb_mid = bb_close[, "mavg"],
  bb_upper = bb_close[, "up"],
  bb_lower = bb_close[, "dn"],
  bb_width = (bb_close[, "up"] - bb_close[, "dn"]) / bb_close[, "mavg"],
  bbtyp_mid = bb_typical[, "mavg"],
  bbtyp_upper = bb_typical[, "up"],
  bbtyp_lower = bb_typical[, "dn"],
  macd = macd_abs[, "macd"],
  macd_signal = macd_abs[, "signal"],
  macd_hist = macd_abs[, "macd"] - macd_abs[, "signal"],
  macdpct = macd_pct[, "macd"],
  macdpct_signal = macd_pct[, "signal"],
  macdpct_hist = macd_pct[, "macd"] - macd_pct[, "signal"],
  highest20 = runMax(ttrc$High, n = 20),
  lowest20 = runMin(ttrc$Low, n = 20)
)

num <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", as.numeric(x)))
cols <- c(list(date = as.character(ttrc$Date), open = num(ttrc$Open), high = num(ttrc$High),
               low = num(ttrc$Low), close = num(cl), volume = num(ttrc$Volume)),
          lapply(ref, num))
lines <- c(paste(names(cols), collapse = ","), do.call(paste, c(cols, sep = ",")))
tmp <- paste0(args[1], ".tmp")
writeLines(lines, tmp)
# Renamed into place whole, so an interrupted run never leaves a short file behind.
invisible(file.rename(tmp, args[1]))
