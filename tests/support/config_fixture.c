#include "config_fixture.h"

risk_config fx_risk_defaults(void)
{
    pipeline_config cfg;
    config_defaults(&cfg);
    risk_config r = cfg.risk;
    config_free(&cfg);
    return r;
}
