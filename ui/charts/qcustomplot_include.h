// qcustomplot.h with QT_NO_KEYWORDS: the header still says `signals:` and `foreach`, so they are
// mapped to Q_SIGNALS / Q_FOREACH while it is read and unmapped afterwards. Include this instead
// of <qcustomplot.h> everywhere in lowbit_ui.
#pragma once

// IWYU pragma: begin_exports
#include <QtCore/qglobal.h>
#define signals Q_SIGNALS
#define foreach Q_FOREACH
#include <qcustomplot.h>
#undef signals
#undef foreach
// IWYU pragma: end_exports
