// LayoutFile: `<workspace>/studio-layout.json`, the workspace layout on disk (docs/studio.md
// §Layouts and undo). It never loses a file it could not use: a corrupt file is renamed aside to
// `studio-layout.json.corrupt-<yyyyMMdd-HHmmss>` (its bytes unchanged) just before the first save
// that would replace it, and a file of a newer version is never written over. Saves are atomic
// (written beside, then renamed over), so a crash leaves the old file or the new one.
#pragma once

#include <QString>

#include <set>
#include <string>

#include "layout/workspace_layout.h"

namespace lowbit::ui {

class LayoutFile {
public:
    static constexpr const char* kFileName = "studio-layout.json";

    enum class Outcome { kMissing, kLoaded, kNewerVersion, kCorrupt };

    struct Read {
        Outcome outcome = Outcome::kMissing;
        WorkspaceLayout layout;  // the defaults unless loaded
        QString message;         // for the person: the file, what is wrong, what happens now
    };

    explicit LayoutFile(const QString& workspace_root);

    const QString& path() const {
        return path_;
    }

    // False while the file on disk is of a newer version: this session does not save.
    bool mayWrite() const {
        return !newer_;
    }

    // known_keys: the workspace's scalar keys (null: not checked).
    Read read(const std::set<std::string>* known_keys);
    // False, with a message in *error, when it did not write (a newer file, a failed rename or
    // write). A message about a corrupt file set aside goes to *notice.
    bool save(const WorkspaceLayout& layout, QString* error, QString* notice);

private:
    QString path_;
    bool keep_aside_ = false;  // the file on disk is one read as corrupt
    bool newer_ = false;       // the file on disk is of a newer version
};

}  // namespace lowbit::ui
