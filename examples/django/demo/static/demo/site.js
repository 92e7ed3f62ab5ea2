// Marks the page as scripted; proves /static/ is served (by the proxy in production).
document.documentElement.classList.add("js");
