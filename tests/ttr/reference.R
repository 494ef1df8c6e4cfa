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

# The core/ta indicators (docs/lua-api.md). TTR's own function where it has the
# indicator; where it has not, the formula written out here in R (KAMA, Supertrend) or
# composed from TTR's building blocks (TEMA, Stochastic RSI, Ichimoku, z-score, beta,
# session VWAP). Conventions where TTR's differ are noted at each.
hi <- ttrc$High
lo <- ttrc$Low
vo <- ttrc$Volume
tp <- (hi + lo + cl) / 3
lag_by <- function(x, k) c(rep(NA, k), head(x, -k))

tema <- function(x, n) {
  e1 <- EMA(x, n)
  e2 <- EMA(e1, n)
  e3 <- EMA(e2, n)
  3 * e1 - 3 * e2 + e3
}

# Kaufman: ER = |x[t] - x[t-n]| / sum |x[i] - x[i-1]| over the n changes up to t; the first
# value (bar n + 1) starts from x[n].
kama <- function(x, n = 10, fast = 2, slow = 30) {
  out <- rep(NA_real_, length(x))
  fsc <- 2 / (fast + 1)
  ssc <- 2 / (slow + 1)
  k <- x[n]
  for (t in (n + 1):length(x)) {
    dir <- abs(x[t] - x[t - n])
    noise <- sum(abs(diff(x[(t - n):t])))
    er <- if (noise > 0) dir / noise else 0
    sc <- (er * (fsc - ssc) + ssc)^2
    k <- k + sc * (x[t] - k)
    out[t] <- k
  }
  out
}

# Supertrend (TradingView's): bands (h + l) / 2 -/+ k ATR, ATR = Wilder's with the first
# bar's high - low as its true range (apex.ta's ATR default, column atr14's construction).
supertrend <- function(n, k) {
  tr <- ATR(hlc, n = n)[, "tr"]
  tr[1] <- hi[1] - lo[1]
  atr <- as.numeric(EMA(tr, n = n, wilder = TRUE))
  mid <- (hi + lo) / 2
  bu <- mid + k * atr
  bl <- mid - k * atr
  N <- length(cl)
  line <- dirn <- fu <- fl <- rep(NA_real_, N)
  first <- which(!is.na(atr))[1]
  for (t in first:N) {
    if (t == first) {
      fu[t] <- bu[t]; fl[t] <- bl[t]; dirn[t] <- -1
    } else {
      fl[t] <- if (bl[t] > fl[t - 1] || cl[t - 1] < fl[t - 1]) bl[t] else fl[t - 1]
      fu[t] <- if (bu[t] < fu[t - 1] || cl[t - 1] > fu[t - 1]) bu[t] else fu[t - 1]
      dirn[t] <- if (dirn[t - 1] == -1) (if (cl[t] > fu[t]) 1 else -1) else
        (if (cl[t] < fl[t]) -1 else 1)
    }
    line[t] <- if (dirn[t] == 1) fl[t] else fu[t]
  }
  list(line = line, dirn = dirn, upper = fu, lower = fl)
}

# TTR's stoch and WPR are fractions in 0..1; apex.ta's are percent, Williams %R negative.
st_fast <- stoch(hlc, nFastK = 14, nFastD = 3, nSlowD = 3)
rsi14 <- RSI(cl, n = 14)
srsi_raw <- 100 * (rsi14 - runMin(rsi14, 14)) / (runMax(rsi14, 14) - runMin(rsi14, 14))
srsi_k <- SMA(srsi_raw, 3)
adx <- ADX(hlc, n = 14)
ar <- aroon(ttrc[, c("High", "Low")], n = 25)
kc <- keltnerChannels(hlc, n = 20, atr = 2)
dc <- DonchianChannel(ttrc[, c("High", "Low")], n = 20)
st <- supertrend(10, 3)
mid_of <- function(n) (runMax(hi, n) + runMin(lo, n)) / 2
ich_b <- mid_of(52)
ich_ready <- !is.na(ich_b)
ich_t <- ifelse(ich_ready, mid_of(9), NA)
ich_k <- ifelse(ich_ready, mid_of(26), NA)
ich_a <- (ich_t + ich_k) / 2
year <- substr(as.character(ttrc$Date), 1, 4)
vwap_session <- ave(tp * vo, year, FUN = cumsum) / ave(vo, year, FUN = cumsum)

ref <- c(ref, list(
  wma10 = WMA(cl, n = 10),
  dema10 = DEMA(cl, n = 10),
  tema10 = tema(cl, 10),
  kama10 = kama(cl, 10, 2, 30),
  hma20 = HMA(cl, n = 20),
  stoch_k = 100 * st_fast[, "fastK"],
  stoch_d = 100 * st_fast[, "fastD"],
  stoch_slow_k = 100 * st_fast[, "fastD"],
  stoch_slow_d = 100 * st_fast[, "slowD"],
  stochrsi_k = srsi_k,
  stochrsi_d = SMA(srsi_k, 3),
  willr14 = -100 * WPR(hlc, n = 14),
  cci20 = CCI(hlc, n = 20),
  roc10 = 100 * ROC(cl, n = 10, type = "discrete"),
  roc10_cont = ROC(cl, n = 10),
  mom10 = momentum(cl, n = 10),
  # TTR's MFI(HLC) averages each bar with mean(), whose long double sum rounds some
  # typical prices differently from (h + l + c) / 3: two equal typical prices then compare
  # unequal and a bar's flow changes sides. Given the typical price, MFI uses it as is.
  mfi14 = MFI(tp, vo, n = 14),
  sd20 = runSD(cl, n = 20, sample = FALSE),
  sd20_sample = runSD(cl, n = 20),
  kc_mid = kc[, "mavg"],
  kc_upper = kc[, "up"],
  kc_lower = kc[, "dn"],
  dc_mid = dc[, "mid"],
  dc_upper = dc[, "high"],
  dc_lower = dc[, "low"],
  adx14 = adx[, "ADX"],
  adx_pdi = adx[, "DIp"],
  adx_mdi = adx[, "DIn"],
  adx_dx = adx[, "DX"],
  aroon_osc = ar[, "oscillator"],
  aroon_up = ar[, "aroonUp"],
  aroon_down = ar[, "aroonDn"],
  st_line = st$line,
  st_dir = st$dirn,
  st_upper = st$upper,
  st_lower = st$lower,
  # TTR's af grows past the maximum when step * k never equals it exactly (0.02 and
  # 0.2: 0.19999999999999998, then 0.22); 0.04 reaches 0.2 exactly, so apex.ta's
  # min(af + step, max) and TTR agree here.
  psar = SAR(ttrc[, c("High", "Low")], accel = c(0.04, 0.2)),
  ich_tenkan = ich_t,
  ich_kijun = ich_k,
  ich_span_a = ich_a,
  ich_span_b = ich_b,
  ich_cloud_a = lag_by(ich_a, 26),
  ich_cloud_b = lag_by(ich_b, 26),
  vwap_year = vwap_session,
  vwap10 = VWAP(tp, vo, n = 10),
  obv = OBV(cl, vo),
  zscore20 = (cl - runMean(cl, 20)) / runSD(cl, 20, sample = FALSE),
  cor20 = runCor(cl, vo, n = 20),
  beta20 = runCov(cl, vo, n = 20) / runVar(vo, n = 20)
))

num <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", as.numeric(x)))
cols <- c(list(date = as.character(ttrc$Date), open = num(ttrc$Open), high = num(ttrc$High),
               low = num(ttrc$Low), close = num(cl), volume = num(ttrc$Volume)),
          lapply(ref, num))
lines <- c(paste(names(cols), collapse = ","), do.call(paste, c(cols, sep = ",")))
tmp <- paste0(args[1], ".tmp")
writeLines(lines, tmp)
# Renamed into place whole, so an interrupted run never leaves a short file behind.
invisible(file.rename(tmp, args[1]))
