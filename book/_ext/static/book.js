// Click a figure to open its full-size image.
document.addEventListener("DOMContentLoaded", () => {
  for (const img of document.querySelectorAll("article figure img")) {
    if (img.closest("a")) continue;
    const a = document.createElement("a");
    a.href = img.getAttribute("src");
    a.className = "dof-zoom";
    a.setAttribute("aria-label", "Open the full-size image");
    img.parentNode.insertBefore(a, img);
    a.appendChild(img);
  }
});
