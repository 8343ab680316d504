"""Word documents (.docx, from Word or WPS) into the HTML a piece holds.

mammoth maps Word's structure (headings, lists, tables, bold and italic) to plain HTML and ignores its styling;
the services then sanitise that HTML like anything typed. Images leave the text and go with the piece as
attachments, so the text stays what reviewers sign and the pictures keep their own hashes.
"""

import re
import zipfile
from dataclasses import dataclass, field

import mammoth
from django.core.files.base import ContentFile


class NotWord(ValueError):
    """The file could not be read as a Word document."""


# What a document may hold once unpacked: a small .docx that inflates to gigabytes is refused before it is read.
MAX_UNPACKED_BYTES = 100 * 1024 * 1024


@dataclass
class Converted:
    html: str
    images: list[ContentFile] = field(default_factory=list)


_IMAGE = re.compile(r"<img\b[^>]*>")


def convert(upload) -> Converted:
    """Return the document's HTML and its images (as files named image-1.png and so on)."""
    images = []

    @mammoth.images.img_element
    def keep(image):
        with image.open() as data:
            subtype = image.content_type.rpartition("/")[2] or "bin"
            images.append(ContentFile(data.read(), name=f"image-{len(images) + 1}.{subtype}"))
        return {}

    upload.seek(0)
    try:
        with zipfile.ZipFile(upload) as archive:
            if sum(member.file_size for member in archive.infolist()) > MAX_UNPACKED_BYTES:
                raise NotWord("too large once unpacked")
        upload.seek(0)
        result = mammoth.convert_to_html(upload, convert_image=keep)
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise NotWord(str(error)) from None
    finally:
        upload.seek(0)
    return Converted(html=as_editor_lines(result.value), images=images)


def as_editor_lines(html: str) -> str:
    """Return mammoth's HTML with its paragraphs written as the editor writes lines (<div>), images (kept as
    attachments) and the lines they leave empty dropped, so that a piece uploaded from Word goes through the editor
    later without a change nobody asked for."""
    html = _IMAGE.sub("", html).replace("<p>", "<div>").replace("</p>", "</div>")
    return html.replace("<div></div>", "")
