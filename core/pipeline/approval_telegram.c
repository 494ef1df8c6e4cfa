/* approval_telegram: the Telegram side of approvals (pipeline_internal.h). Without a bot
 * configured (notifications.telegram.token_env) every function is a no-op and requests
 * are answered from the CLI (or, later, the dashboard). */
#include "pipeline/pipeline_internal.h"

int pipeline_telegram_open(pipeline *p, diag_list *d)
{
    (void)p;
    (void)d;
    return 0;
}

void pipeline_telegram_close(pipeline *p)
{
    (void)p;
}

void pipeline_telegram_ask(pipeline *p, const store_approval *a)
{
    (void)p;
    (void)a;
}

void pipeline_telegram_told(pipeline *p, const store_approval *a)
{
    (void)p;
    (void)a;
}

void pipeline_telegram_poll(pipeline *p)
{
    (void)p;
}
