// Where the `lowbit` engine executable is: next to the studio's own binary (an installed tree, or
// the build tree's app/lowbit/ sibling folder), else on PATH, else the path configured in the
// settings (key engine/path). Empty when none exists.
#pragma once

#include <QString>

namespace lowbit::ui {

QString locate_engine(const QString& configured_path = {});

}  // namespace lowbit::ui
