// Answers GET and POST /items. `event` is an API Gateway proxy event.
export const handler = async (event) => {
  if (event.httpMethod === "POST") {
    const item = JSON.parse(event.body || "{}");
    return { statusCode: 201, body: JSON.stringify({ created: item }) };
  }
  return { statusCode: 200, body: JSON.stringify({ items: [] }) };
};
