/* config_fixture: the documented defaults of a config section, for unit tests. */
#ifndef APEX_TEST_CONFIG_FIXTURE_H
#define APEX_TEST_CONFIG_FIXTURE_H

#include "config/config.h"

/* risk.* as config_defaults sets it. */
risk_config fx_risk_defaults(void);

#endif
