// ReportPages: the page layout of a report (docs/studio.md §Export and reports) over any paint
// device that turns pages: headings, wrapped text, plots drawn as vectors through QCustomPlot's
// own painter, and item-model tables that continue on the next page (header repeated) and split
// their columns into slices when wider than the page (first column repeated). Always dark text on
// white, whatever the studio's theme.
#pragma once

#include <QRectF>
#include <QString>

#include <functional>
#include <memory>
#include <vector>

class QAbstractItemModel;
class QCPPainter;
class QCustomPlot;

namespace lowbit::ui {

struct ReportSection {
    QString title;
    int first_page = 0;  // 1-based
};

class ReportPages {
public:
    // `painter` is active on the first page; `next_page` ends the page and starts another on it
    // (false: the device failed). `page` is the printable area in device units.
    ReportPages(QCPPainter& painter, const QRectF& page, std::function<bool()> next_page);

    // Starts a page unless the current one is still empty; the section is listed in sections().
    void section(const QString& title);
    void heading(const QString& text);
    void paragraph(const QString& text);
    // The plot at the full page width and `height` device units (less when the page is shorter).
    void plot(QCustomPlot& plot, double height);
    // Rows [0, rowCount) of `model` with its horizontal header.
    void table(const QAbstractItemModel& model);
    void newPage();

    int pages() const {
        return pages_;
    }

    const std::vector<ReportSection>& sections() const {
        return sections_;
    }

    // False once a new page could not be started (the rest was not drawn).
    bool ok() const {
        return ok_;
    }

    double width() const {
        return page_.width();
    }

    // Height left on the current page.
    double remaining() const {
        return page_.bottom() - y_;
    }

private:
    void ensure(double height);
    bool atTop() const;

    QCPPainter& painter_;
    QRectF page_;
    std::function<bool()> next_page_;
    double y_ = 0;
    int pages_ = 1;
    bool ok_ = true;
    std::vector<ReportSection> sections_;
};

}  // namespace lowbit::ui
