#include "widgets/run_picker.h"

#include <QSignalBlocker>

namespace lowbit::ui {

bool sync_run_items(QComboBox& box,
                    const std::vector<std::pair<int64_t, QString>>& items,
                    int64_t current) {
    bool same = static_cast<int>(items.size()) == box.count();
    for (size_t i = 0; same && i < items.size(); ++i) {
        same = box.itemData(static_cast<int>(i)).toLongLong() == items[i].first &&
               box.itemText(static_cast<int>(i)) == items[i].second;
    }
    if (same) {
        return false;
    }
    const QSignalBlocker quiet(&box);
    box.clear();
    for (const auto& [id, text] : items) {
        box.addItem(text, QVariant::fromValue<qlonglong>(id));
    }
    box.setCurrentIndex(box.findData(QVariant::fromValue<qlonglong>(current)));
    return true;
}

}  // namespace lowbit::ui
