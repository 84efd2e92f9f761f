#include "controllers/engine_locator.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>

namespace lowbit::ui {

QString locate_engine(const QString& configured_path) {
    const QDir here(QCoreApplication::applicationDirPath());
    for (const QString& candidate : {here.filePath(QStringLiteral("lowbit")),
                                     here.filePath(QStringLiteral("../lowbit/lowbit"))}) {
        const QFileInfo info(candidate);
        if (info.isFile() && info.isExecutable()) {
            return info.canonicalFilePath();
        }
    }
    const QString on_path = QStandardPaths::findExecutable(QStringLiteral("lowbit"));
    if (!on_path.isEmpty()) {
        return on_path;
    }
    const QFileInfo configured(configured_path);
    if (!configured_path.isEmpty() && configured.isFile() && configured.isExecutable()) {
        return configured.absoluteFilePath();
    }
    return {};
}

}  // namespace lowbit::ui
