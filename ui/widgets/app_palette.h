// The studio's look: the Fusion style (it follows QPalette faithfully) with a light or a dark
// palette; `system` follows the desktop's colour scheme where Qt reports one.
#pragma once

#include <QPalette>
#include <QString>

namespace lowbit::ui {

enum class ColourScheme { kSystem, kLight, kDark };

ColourScheme colour_scheme_from_string(const QString& text);  // "light", "dark", else system
QPalette studio_palette(bool dark);
// Sets Fusion and the palette on the application; returns whether it is dark.
bool apply_colour_scheme(ColourScheme scheme);

}  // namespace lowbit::ui
