#include "layout/layout_file.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSaveFile>

namespace lowbit::ui {

LayoutFile::LayoutFile(const QString& workspace_root)
    : path_(QDir(workspace_root).filePath(QLatin1String(kFileName))) {}

LayoutFile::Read LayoutFile::read(const std::set<std::string>* known_keys) {
    Read result;
    keep_aside_ = false;
    newer_ = false;
    if (!QFileInfo::exists(path_)) {
        return result;
    }
    QFile file(path_);
    if (!file.open(QIODevice::ReadOnly)) {
        keep_aside_ = true;
        result.outcome = Outcome::kCorrupt;
        result.message = QObject::tr(
                             "Layout %1 cannot be read (%2); the default layout is shown "
                             "and the file is kept")
                             .arg(path_, file.errorString());
        return result;
    }
    const QByteArray bytes = file.readAll();
    const LayoutParse parse = parse_layout(
        std::string_view(bytes.constData(), static_cast<size_t>(bytes.size())), known_keys);
    switch (parse.outcome) {
        case LayoutParse::Outcome::kLoaded:
            result.outcome = Outcome::kLoaded;
            result.layout = parse.layout;
            break;
        case LayoutParse::Outcome::kNewerVersion:
            newer_ = true;
            result.outcome = Outcome::kNewerVersion;
            result.message = QObject::tr(
                                 "Layout %1 is version %2, newer than this studio reads (%3); the "
                                 "default layout is shown and the file is left untouched (this "
                                 "session's layout is not saved)")
                                 .arg(path_)
                                 .arg(parse.version)
                                 .arg(WorkspaceLayout::kVersion);
            break;
        case LayoutParse::Outcome::kCorrupt:
            keep_aside_ = true;
            result.outcome = Outcome::kCorrupt;
            result.message = QObject::tr(
                                 "Layout %1 is corrupt: %2. The default layout is shown; "
                                 "the file is kept and set aside as %3.corrupt-<time> "
                                 "before the layout is next saved")
                                 .arg(path_, QString::fromStdString(parse.problem), path_);
            break;
    }
    return result;
}

bool LayoutFile::save(const WorkspaceLayout& layout, QString* error, QString* notice) {
    if (newer_) {
        *error = QObject::tr("Layout not saved: %1 is of a newer version").arg(path_);
        return false;
    }
    if (keep_aside_ && QFileInfo::exists(path_)) {
        const QString stamp =
            QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss"));
        QString aside = path_ + QStringLiteral(".corrupt-") + stamp;
        for (int n = 2; QFileInfo::exists(aside); ++n) {
            aside =
                path_ + QStringLiteral(".corrupt-") + stamp + QLatin1Char('-') + QString::number(n);
        }
        if (!QFile::rename(path_, aside)) {
            *error = QObject::tr("Layout not saved: the corrupt %1 could not be set aside as %2")
                         .arg(path_, aside);
            return false;
        }
        *notice = QObject::tr("The corrupt layout was kept as %1").arg(aside);
    }
    keep_aside_ = false;
    QSaveFile file(path_);
    const std::string text = layout_to_json(layout);
    if (!file.open(QIODevice::WriteOnly) ||
        file.write(text.data(), static_cast<qint64>(text.size())) !=
            static_cast<qint64>(text.size()) ||
        !file.commit()) {
        *error = QObject::tr("Layout not saved to %1: %2").arg(path_, file.errorString());
        return false;
    }
    return true;
}

}  // namespace lowbit::ui
