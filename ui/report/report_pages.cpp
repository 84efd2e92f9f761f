#include "report/report_pages.h"

#include <QAbstractItemModel>
#include <QFontMetricsF>

#include <algorithm>

#include "charts/qcustomplot_include.h"

namespace lowbit::ui {

namespace {

// More points than this in a plot's graphs and it is drawn as a bitmap (see plot()).
constexpr int kMaxVectorPoints = 20000;

const QColor kText(0x20, 0x20, 0x20);
const QColor kRule(0xb0, 0xb0, 0xb0);
const QColor kHeaderFill(0xe8, 0xe8, 0xe8);
const QColor kStripeFill(0xf6, 0xf6, 0xf6);
constexpr double kGap = 10;         // between blocks
constexpr double kCellPadding = 6;  // left and right of a cell's text
constexpr double kMaxColumnWidth = 300;

QFont font_of(double points, bool bold = false) {
    QFont font(QStringLiteral("Sans Serif"));
    font.setPointSizeF(points);
    font.setBold(bold);
    return font;
}

// A model colour that would vanish on white (a dark theme's light text) is drawn as plain text.
QColor readable(const QVariant& brush) {
    if (!brush.isValid()) {
        return kText;
    }
    const QColor colour =
        brush.canConvert<QBrush>() ? brush.value<QBrush>().color() : brush.value<QColor>();
    return colour.isValid() && colour.lightnessF() < 0.75 ? colour : kText;
}

}  // namespace

ReportPages::ReportPages(QCPPainter& painter, const QRectF& page, std::function<bool()> next_page)
    : painter_(painter), page_(page), next_page_(std::move(next_page)), y_(page.top()) {}

bool ReportPages::atTop() const {
    return y_ <= page_.top();
}

void ReportPages::newPage() {
    if (!ok_) {
        return;
    }
    ok_ = next_page_();
    ++pages_;
    y_ = page_.top();
}

void ReportPages::ensure(double height) {
    if (!atTop() && y_ + height > page_.bottom()) {
        newPage();
    }
}

void ReportPages::section(const QString& title) {
    if (!atTop()) {
        newPage();
    }
    sections_.push_back({title, pages_});
    painter_.setFont(font_of(16, true));
    painter_.setPen(kText);
    const double height = QFontMetricsF(painter_.font(), painter_.device()).height();
    painter_.drawText(
        QRectF(page_.left(), y_, page_.width(), height), Qt::AlignLeft | Qt::AlignVCenter, title);
    y_ += height + 4;
    painter_.setPen(QPen(kRule, 1));
    painter_.drawLine(QPointF(page_.left(), y_), QPointF(page_.right(), y_));
    y_ += kGap;
}

void ReportPages::heading(const QString& text) {
    painter_.setFont(font_of(11, true));
    const double height = QFontMetricsF(painter_.font(), painter_.device()).height();
    ensure(height * 4);  // never a heading alone at the foot of a page
    painter_.setPen(kText);
    painter_.drawText(
        QRectF(page_.left(), y_, page_.width(), height), Qt::AlignLeft | Qt::AlignVCenter, text);
    y_ += height + 4;
}

void ReportPages::paragraph(const QString& text) {
    painter_.setFont(font_of(9));
    painter_.setPen(kText);
    const QRectF bounds = painter_.boundingRect(
        QRectF(page_.left(), 0, page_.width(), page_.height()), Qt::TextWordWrap, text);
    ensure(bounds.height());
    painter_.drawText(
        QRectF(page_.left(), y_, page_.width(), bounds.height()), Qt::TextWordWrap, text);
    y_ += bounds.height() + kGap;
}

void ReportPages::plot(QCustomPlot& plot, double height) {
    height = std::min(height, page_.height());
    ensure(height);
    if (!ok_) {
        return;
    }
    bool has_colour_map = false;
    int points = 0;
    for (int i = 0; i < plot.plottableCount(); ++i) {
        has_colour_map = has_colour_map || qobject_cast<QCPColorMap*>(plot.plottable(i)) != nullptr;
    }
    for (int i = 0; i < plot.graphCount(); ++i) {
        points += plot.graph(i)->data()->size();
    }
    const int width = static_cast<int>(page_.width());
    painter_.save();
    painter_.translate(page_.left(), y_);
    if (has_colour_map || points > kMaxVectorPoints) {
        // A colour map in vector output is embedded as an image upsampled far beyond its cells,
        // and tens of runs' curves are hundreds of thousands of path points: megabytes per plot.
        // Drawn as a bitmap of twice the page resolution they stay sharp and small.
        const QPixmap pixmap = plot.toPixmap(width, static_cast<int>(height), 2.0);
        painter_.drawPixmap(QRectF(0, 0, width, height), pixmap, QRectF(pixmap.rect()));
    } else {
        plot.toPainter(&painter_, width, static_cast<int>(height));
    }
    painter_.restore();
    y_ += height + kGap;
}

void ReportPages::table(const QAbstractItemModel& model) {
    const int rows = model.rowCount();
    if (model.columnCount() == 0) {
        return;
    }
    // Column -1 is the vertical header where a model names its rows there (the config diff's
    // keys); Qt's default header is just the row number.
    bool named_rows = false;
    for (int r = 0; r < rows && !named_rows; ++r) {
        const QString name = model.headerData(r, Qt::Vertical).toString();
        named_rows = !name.isEmpty() && name != QString::number(r + 1);
    }
    std::vector<int> columns;
    if (named_rows) {
        columns.push_back(-1);
    }
    for (int c = 0; c < model.columnCount(); ++c) {
        columns.push_back(c);
    }
    auto header = [&model](int c) {
        return c < 0 ? QString() : model.headerData(c, Qt::Horizontal).toString();
    };
    auto text_of = [&model](int r, int c) {
        return c < 0 ? model.headerData(r, Qt::Vertical).toString()
                     : model.index(r, c).data().toString();
    };
    const QFont plain = font_of(8);
    const QFont bold = font_of(8, true);
    const QFontMetricsF metrics(bold, painter_.device());
    const double row_height = metrics.height() + 6;

    std::vector<double> widths;
    for (int c : columns) {
        double width = metrics.horizontalAdvance(header(c));
        for (int r = 0; r < rows; ++r) {
            width = std::max(width, metrics.horizontalAdvance(text_of(r, c)));
        }
        widths.push_back(
            std::min(width + 2 * kCellPadding, std::min(kMaxColumnWidth, page_.width() / 2)));
    }
    // Slices of columns (positions in `columns`) that fit the page, each led by the first.
    std::vector<std::vector<size_t>> slices;
    std::vector<size_t> slice{0};
    double used = widths[0];
    for (size_t c = 1; c < columns.size(); ++c) {
        if (used + widths[c] > page_.width() && slice.size() > 1) {
            slices.push_back(slice);
            slice = {0};
            used = widths[0];
        }
        slice.push_back(c);
        used += widths[c];
    }
    slices.push_back(slice);

    for (size_t s = 0; s < slices.size(); ++s) {
        const std::vector<size_t>& shown = slices[s];
        if (slices.size() > 1) {
            paragraph(QStringLiteral("Columns %1 to %2 of %3")
                          .arg(shown.size() > 1 ? shown[1] + 1 : 1)
                          .arg(shown.back() + 1)
                          .arg(columns.size()));
        }
        auto draw_row = [&](int r) {  // r < 0: the header
            double x = page_.left();
            if (r < 0) {
                painter_.fillRect(QRectF(x, y_, page_.width(), row_height), kHeaderFill);
            } else if (r % 2 == 1) {
                painter_.fillRect(QRectF(x, y_, page_.width(), row_height), kStripeFill);
            }
            for (size_t position : shown) {
                const int c = columns[position];
                const double width = widths[position];
                const QModelIndex index = c < 0 ? QModelIndex() : model.index(std::max(r, 0), c);
                QString text = r < 0 ? header(c) : text_of(r, c);
                QFont font = r < 0 || c < 0 ? bold : plain;
                if (r >= 0 && c >= 0) {
                    if (const QVariant f = index.data(Qt::FontRole); f.isValid()) {
                        font.setBold(f.value<QFont>().bold());
                    }
                }
                painter_.setFont(font);
                painter_.setPen(r < 0 || c < 0 ? kText : readable(index.data(Qt::ForegroundRole)));
                const QRectF cell(x + kCellPadding, y_, width - 2 * kCellPadding, row_height);
                text = QFontMetricsF(font, painter_.device())
                           .elidedText(text, Qt::ElideMiddle, cell.width());
                const QVariant align =
                    r < 0 || c < 0 ? QVariant() : index.data(Qt::TextAlignmentRole);
                const Qt::Alignment horizontal =
                    align.isValid() ? (Qt::Alignment(align.toInt()) & Qt::AlignHorizontal_Mask)
                                    : Qt::AlignLeft;
                painter_.drawText(cell, horizontal | Qt::AlignVCenter, text);
                x += width;
            }
            y_ += row_height;
        };
        ensure(row_height * std::min(rows + 1, 4));
        draw_row(-1);
        for (int r = 0; r < rows && ok_; ++r) {
            if (y_ + row_height > page_.bottom()) {
                newPage();
                draw_row(-1);
            }
            draw_row(r);
        }
        painter_.setPen(QPen(kRule, 1));
        painter_.drawLine(QPointF(page_.left(), y_), QPointF(page_.right(), y_));
        y_ += kGap;
    }
}

}  // namespace lowbit::ui
