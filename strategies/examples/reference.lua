-- reference: every pipeline field, set to its default, with what it means.
--
-- Copy the parts you need; anything left out keeps the default shown here. Unknown
-- fields are errors ("risk.max_risk: unknown field; did you mean max_risk_pct?"), so a
-- typo never silently falls back to a default. Percentages are fractions (0.02 = 2%),
-- except exit_percentage, which is a whole percent (50 = half the position).
-- Relative paths resolve against this file's directory.
--
--   apex-host check strategies/examples/reference.lua    -- validate without trading
return apex.pipeline {
    -- Required. Letters, digits, '_', '.', '-'; at most 63 characters. Names the
    -- pipeline in logs, the store and the dashboard.
    name = "reference",

    -- Required. One execution per symbol.
    symbols = { "AAPL", "MSFT" },

    data = {
        files = { "../../data/demo/bars.csv" }, -- required: one CSV or a list
                                                -- (timestamp,symbol,open,high,low,close,volume[,bid,ask])
        news = "../../data/demo/news.csv",      -- optional: timestamp,symbol,impact,headline
                                                -- ("*" = market-wide); feeds apex.news()
        speed = 1,                              -- replay speed for `run` (backtest ignores it)
        follow = false,                         -- keep reading appended rows, like tail -f
    },

    broker = {
        kind = "paper",          -- the embedded simulator; "alpaca" comes later
        starting_cash = 100000,
        spread_bps = 2,          -- simulated spread when the data has no bid/ask
        slippage_bps = 1,        -- adverse slippage on market orders
        fee_per_share = 0,
        fee_bps = 0,
        fee_min = 0,             -- minimum fee per order
        state = "",              -- file that keeps the paper account across runs ("" = none)
    },

    -- Optional. A bias module ("long" lets only buys through, "short" only sells,
    -- "neutral" both). A plain string is the file with no params.
    bias = { file = "../trend_bias.lua", params = { period = 50 } },

    -- Required. The module that produces entry signals (on_bar) and edge estimates.
    strategy = { file = "../ma_cross.lua", params = { fast = 10, slow = 30 } },

    risk = {
        capital = 0,                 -- capital to size against; 0 = the account's equity
        max_risk_pct = 0.01,         -- risk per trade (entry to stop) as a fraction of capital
        max_position_pct = 0.05,     -- largest position as a fraction of capital
        max_positions = 10,          -- open positions across the pipeline
        daily_loss_limit_pct = 0.03, -- circuit breaker: stop entries, close all at this loss
        allow_short = true,          -- let "sell" entry signals open shorts
        pdt_check = true,            -- pattern-day-trader rule for small margin accounts
        pdt_day_trade_limit = 3,     -- day trades allowed in 5 business days
    },

    exits = {
        stop_loss_pct = 0.04,        -- used when a signal has no stop_loss
        take_profit_pct = 0.10,      -- used when a signal has no take_profit
        trailing_stop = {
            enabled = true, activation_pct = 0.05, distance_pct = 0.03,
            mode = "percent",        -- or "atr" / "chandelier": multiplier x ATR(period)
            period = 22, multiplier = 3,
        },
        partial_exits = {
            enabled = true,
            stages = {
                { name = "first_target", profit_threshold = 0.15, exit_percentage = 50 },
                { name = "second_target", profit_threshold = 0.25, exit_percentage = 25 },
            },
        },
        liquidity = { max_spread = 0.03, min_volume = 50 }, -- spread in price units
        early_exit_edge = 0.02,      -- strategy edge() below this -> early_exit (LOW)
        time_urgent_minutes = 5,     -- close this long before session_close (HIGH)
        session_close = "21:00",     -- UTC HH:MM (16:00 New York in winter)
        rebalance_min_improvement = 0.10, -- opportunity() gain that justifies a switch
        execution = {                -- how exits of each priority are worked
            CRITICAL = { timeout_seconds = 5, max_walks = 0 },   -- market
            HIGH = { timeout_seconds = 10, max_walks = 2 },      -- aggressive limit
            MEDIUM = { timeout_seconds = 30, max_walks = 5 },    -- fair limit
            LOW = { timeout_seconds = 60, max_walks = 10 },      -- conservative limit
        },
    },

    monitoring = {
        normal_frequency = 30,       -- seconds between checks of an open position
        urgent_frequency = 5,        -- ... when within 2% of a stop, target or trailing stop
        urgent_conditions = {
            near_stop_loss_pct = 0.02,
            near_profit_target_pct = 0.02,
            near_trailing_stop_pct = 0.02,
        },
        price_cache_ttl_seconds = 10,
        max_api_calls_per_minute = 60,
        retry_backoff = { 60, 120, 240, 480, 960 }, -- seconds between broker retries
        persist_interval = 60,       -- seconds between unrealized P&L writes to the store
    },

    -- Emergency exits, checked at every monitoring pass (see instructions/README.md).
    -- Default: none. Sentences or rule files.
    instructions = {
        "close if VIX > 40",
        "liquidate if SPY drops 3% intraday",
        "exit on high impact news for this symbol",
        { file = "../../instructions/vix_spike.lua" },
    },

    -- Default: no notifications. Secrets come from the environment, never the file.
    notifications = {
        telegram = { token_env = "TELEGRAM_TOKEN", chat_id = "12345" },
        webhooks = { "https://example.com/hook" },
    },

    execution = {
        tool = "broker",             -- place orders ("webhook" + webhook_url comes later)
        entry = "market",            -- or "limit": uses the signal's entry price
    },

    -- Bars kept per traded symbol for ctx.history(n) (0 = none).
    history = 0,

    -- Tick and lot rounding; "default" applies to every symbol not listed.
    instruments = {
        default = { tick = 0.01, lot = 1 },
        ["BTC/USD"] = { tick = 0.01, lot = 0.0001 },
    },
}
