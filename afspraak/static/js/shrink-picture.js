// A phone's photo is often several megabytes and thousands of pixels a side, more than
// the server takes for a picture (data-max-bytes, data-max-side: it decodes no pixels,
// see afspraak/images.py). Such a photo is made smaller here, in the browser, before it
// is sent: drawn at most data-fit-side pixels a side (turned as the camera held it) and
// encoded as JPEG, which leaves the camera's metadata behind too. The form's buttons
// wait meanwhile. A picture that cannot be read, or is still too large, is sent as
// chosen, and the server's refusal says why; so is every picture without this script.
(function () {
  "use strict";

  var QUALITIES = [0.88, 0.72, 0.5];

  function encode(canvas, maxBytes, index, done) {
    canvas.toBlob(
      function (blob) {
        if (blob && blob.size <= maxBytes) {
          done(blob);
        } else if (index + 1 < QUALITIES.length) {
          encode(canvas, maxBytes, index + 1, done);
        } else {
          done(null);
        }
      },
      "image/jpeg",
      QUALITIES[index]
    );
  }

  function shrink(input, turn) {
    var file = input.files && input.files[0];
    var maxBytes = Number(input.getAttribute("data-max-bytes"));
    var maxSide = Number(input.getAttribute("data-max-side"));
    var fitSide = Number(input.getAttribute("data-fit-side"));
    var note = document.getElementById(input.getAttribute("data-note"));
    var buttons = input.form ? input.form.querySelectorAll("button") : [];
    if (note) {
      note.textContent = "";
    }
    if (!file || !window.createImageBitmap || !window.DataTransfer) {
      return;
    }
    // A later choice makes this one's result stale: it must neither replace the newer
    // file nor let the buttons go while the newer one is still being made smaller.
    function current() {
      return turn === input.getAttribute("data-turn");
    }
    function wait(waiting) {
      if (!current()) {
        return;
      }
      Array.prototype.forEach.call(buttons, function (button) {
        button.disabled = waiting;
      });
    }
    function use(blob, width, height) {
      if (!blob || !current()) {
        return;
      }
      var transfer = new DataTransfer();
      var name = file.name.replace(/\.[^.]*$/, "") + ".jpg";
      transfer.items.add(new File([blob], name, { type: "image/jpeg" }));
      input.files = transfer.files;
      if (note) {
        note.textContent =
          "Made smaller to " + width + " by " + height +
          " pixels (" + Math.ceil(blob.size / 1024) + " KB) before it is sent.";
      }
    }
    wait(true);
    createImageBitmap(file, { imageOrientation: "from-image" })
      .then(function (bitmap) {
        var side = Math.max(bitmap.width, bitmap.height);
        if (file.size <= maxBytes && side <= maxSide) {
          bitmap.close();
          wait(false);
          return;
        }
        var scale = Math.min(1, fitSide / side);
        var canvas = document.createElement("canvas");
        canvas.width = Math.max(1, Math.round(bitmap.width * scale));
        canvas.height = Math.max(1, Math.round(bitmap.height * scale));
        var context = canvas.getContext("2d");
        // JPEG has no transparency: a transparent PNG goes onto white, not black.
        context.fillStyle = "#ffffff";
        context.fillRect(0, 0, canvas.width, canvas.height);
        context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
        bitmap.close();
        encode(canvas, maxBytes, 0, function (blob) {
          try {
            use(blob, canvas.width, canvas.height);
          } finally {
            wait(false);
          }
        });
      })
      .catch(function () {
        wait(false);
      });
  }

  document.querySelectorAll("input[type=file][data-fit-side]").forEach(function (input) {
    var turns = 0;
    input.addEventListener("change", function () {
      turns += 1;
      input.setAttribute("data-turn", String(turns));
      shrink(input, String(turns));
    });
  });
})();
