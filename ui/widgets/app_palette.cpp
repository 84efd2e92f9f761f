#include "widgets/app_palette.h"

#include <QApplication>
#include <QStyle>
#include <QStyleFactory>
#include <QStyleHints>

namespace lowbit::ui {

ColourScheme colour_scheme_from_string(const QString& text) {
    if (text.compare(QLatin1String("light"), Qt::CaseInsensitive) == 0) {
        return ColourScheme::kLight;
    }
    if (text.compare(QLatin1String("dark"), Qt::CaseInsensitive) == 0) {
        return ColourScheme::kDark;
    }
    return ColourScheme::kSystem;
}

QPalette studio_palette(bool dark) {
    if (!dark) {
        return QApplication::style()->standardPalette();
    }
    QPalette p;
    const QColor window(0x2b, 0x2d, 0x30);
    const QColor base(0x1e, 0x1f, 0x22);
    const QColor text(0xdf, 0xe1, 0xe5);
    const QColor disabled(0x80, 0x80, 0x80);
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, QColor(0x26, 0x28, 0x2b));
    p.setColor(QPalette::ToolTipBase, window);
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::PlaceholderText, disabled);
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, window);
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::BrightText, Qt::red);
    p.setColor(QPalette::Link, QColor(0x58, 0x9d, 0xf6));
    p.setColor(QPalette::Highlight, QColor(0x2f, 0x65, 0xca));
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::Mid, QColor(0x3c, 0x3f, 0x41));
    p.setColor(QPalette::Disabled, QPalette::Text, disabled);
    p.setColor(QPalette::Disabled, QPalette::WindowText, disabled);
    p.setColor(QPalette::Disabled, QPalette::ButtonText, disabled);
    return p;
}

bool apply_colour_scheme(ColourScheme scheme) {
    QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
    bool dark = scheme == ColourScheme::kDark;
    if (scheme == ColourScheme::kSystem) {
#if QT_VERSION >= QT_VERSION_CHECK(6, 5, 0)
        dark = QGuiApplication::styleHints()->colorScheme() == Qt::ColorScheme::Dark;
#else
        dark = false;
#endif
    }
    QApplication::setPalette(studio_palette(dark));
    return dark;
}

}  // namespace lowbit::ui
